using LlmGateway.UsageWorker.Apis;
using LlmGateway.UsageWorker.Extensions;

var builder = WebApplication.CreateBuilder(args);
builder.AddServiceDefaults();
builder.AddUsageWorker();

var app = builder.Build();
app.UseUsageApiErrors();
app.MapDefaultEndpoints();
app.MapUsageApi();
app.Run();
