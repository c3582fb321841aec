using LlmGateway.Gateway;

GatewayApplication.PreferInlineSocketCompletions();
GatewayApplication.Build(args).Run();
