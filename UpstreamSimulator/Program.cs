using LlmGateway.UpstreamSimulator;

SimulatorApp.Create(args).Run();
