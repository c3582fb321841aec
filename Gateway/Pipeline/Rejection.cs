namespace LlmGateway.Gateway.Pipeline;

/// <summary>A step's refusal, answered to the caller as an Anthropic error and recorded as the request's outcome.</summary>
internal readonly record struct Rejection(int Status, string ErrorType, string Message);
