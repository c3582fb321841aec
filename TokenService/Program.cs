using LlmGateway.TokenService.Extensions;

var builder = WebApplication.CreateBuilder(args);
builder.AddServiceDefaults();
builder.AddTokenServiceServices();

var app = builder.Build();
app.UseTokenServiceConventions();
app.MapDefaultEndpoints();
app.MapTokenServiceApis();
app.Run();
