using LlmGateway.Gateway.Requests;

namespace LlmGateway.Gateway.Pipeline;

/// <summary>A step's refusal, answered to the caller as an Anthropic error and recorded as the request's outcome.</summary>
internal readonly record struct Rejection(int Status, string ErrorType, string Message)
{
    /// <summary>A body over the gateway's limit (<c>Gateway:MaxRequestBodyBytes</c>), announced or found while reading.</summary>
    public static Rejection TooLarge(int maxBodyBytes) =>
        new(StatusCodes.Status413PayloadTooLarge, AnthropicErrors.RequestTooLarge, $"Request body is larger than the {maxBodyBytes} bytes this gateway accepts.");

    /// <summary>A body that is not JSON of valid UTF-8.</summary>
    public static readonly Rejection Malformed = new(StatusCodes.Status400BadRequest, AnthropicErrors.InvalidRequest, RequestBodyReader.MalformedMessage);
}
