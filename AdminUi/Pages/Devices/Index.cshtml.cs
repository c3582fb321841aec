using LlmGateway.AdminUi.Clients;
using LlmGateway.AdminUi.Model;
using Microsoft.AspNetCore.Mvc;

namespace LlmGateway.AdminUi.Pages.Devices;

public sealed class DevicesModel(TokenServiceClient tokenService) : AdminPageModel
{
    public const int PageSize = 50;

    [BindProperty(SupportsGet = true, Name = "after")]
    public string? After { get; set; }

    public ListPage<DeviceView>? Listing { get; private set; }

    public async Task OnGetAsync(CancellationToken ct) =>
        Listing = ValueOrProblem(await tokenService.ListDevicesAsync(PageSize, Clean(After), ct));
}
