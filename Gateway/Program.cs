using LlmGateway.Gateway.Extensions;

var builder = WebApplication.CreateBuilder(args);
builder.AddServiceDefaults();
builder.AddGatewayServices();

var app = builder.Build();
app.MapGateway();
app.Run();
