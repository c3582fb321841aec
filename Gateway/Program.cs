using LlmGateway.Gateway;

GatewayApplication.Build(args).Run();
