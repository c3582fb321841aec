using LlmGateway.AdminUi.Authentication;
using LlmGateway.AdminUi.Clients;
using LlmGateway.AdminUi.Model;
using Microsoft.AspNetCore.Mvc;

namespace LlmGateway.AdminUi.Pages.Users;

/// <summary>
/// The local accounts and their roles (admin only): change a role, disable an account (which revokes every key it
/// owns) or enable it again, and invite someone with a role (the code is shown once).
/// </summary>
public sealed class UsersModel(TokenServiceClient tokenService) : AdminPageModel
{
    public const int PageSize = 100;

    /// <summary>TempData slot of a new invite's code, read once.</summary>
    private const string InviteSlot = "lgw.new_invite";

    public static readonly string[] Roles = [SessionRoles.Viewer, SessionRoles.Member, SessionRoles.Admin];

    [BindProperty(SupportsGet = true, Name = "after")] public string? After { get; set; }

    public ListPage<UserView>? Listing { get; private set; }

    public string? NewInvite { get; private set; }

    public async Task OnGetAsync(CancellationToken ct)
    {
        NewInvite = TempData[InviteSlot] as string;
        Listing = ValueOrProblem(await tokenService.ListUsersAsync(PageSize, Clean(After), ct));
    }

    public async Task<IActionResult> OnPostRoleAsync(string id, string role, CancellationToken ct) =>
        await ChangeAsync(await tokenService.UpdateUserAsync(id, role, null, null, ct), update => $"{update.User.Email} is now {update.User.Role}.", ct);

    public async Task<IActionResult> OnPostDisableAsync(string id, CancellationToken ct) =>
        await ChangeAsync(await tokenService.UpdateUserAsync(id, null, true, null, ct),
            update => $"{update.User.Email} is disabled; {update.RevokedCredentials} of their credentials were revoked.", ct);

    public async Task<IActionResult> OnPostEnableAsync(string id, CancellationToken ct) =>
        await ChangeAsync(await tokenService.UpdateUserAsync(id, null, false, null, ct),
            update => $"{update.User.Email} can sign in again (their revoked keys stay revoked).", ct);

    public async Task<IActionResult> OnPostInviteAsync(string? email, string role, CancellationToken ct)
    {
        var invite = await tokenService.CreateInviteAsync(Clean(email), role, ct);
        if (!invite.Ok)
        {
            return await FailAsync(invite.Problem, ct);
        }

        TempData[InviteSlot] = invite.Value.Code;
        return RedirectWithNotice("/users", $"Invite for {invite.Value.Email ?? "anyone"} as {invite.Value.Role} created; it expires {Display.Time(invite.Value.ExpiresAt)}.");
    }

    private async Task<IActionResult> ChangeAsync(ApiResult<UserUpdateView> result, Func<UserUpdateView, string> notice, CancellationToken ct) =>
        result.Ok ? RedirectWithNotice("/users", notice(result.Value)) : await FailAsync(result.Problem, ct);

    private async Task<IActionResult> FailAsync(ApiProblem problem, CancellationToken ct)
    {
        Problem = problem;
        Response.StatusCode = problem.Status is >= 400 and < 500 ? StatusCodes.Status422UnprocessableEntity : StatusCodes.Status502BadGateway;
        Listing = ValueOrProblem(await tokenService.ListUsersAsync(PageSize, Clean(After), ct));
        return Page();
    }
}
