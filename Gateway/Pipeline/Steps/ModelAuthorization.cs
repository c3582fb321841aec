using LlmGateway.Contracts.Credentials;

namespace LlmGateway.Gateway.Pipeline.Steps;

/// <summary>Step <i>authorize</i>: the model a request names must be on the credential's allowlist.</summary>
internal static class ModelAuthorization
{
    public static Rejection? Check(CredentialProjection credential, string model) =>
        ModelPatterns.IsAllowed(credential.Models, model) ? null : Denied(model);

    public static Rejection Denied(string model) =>
        new(403, AnthropicErrors.Permission, $"This credential is not allowed to use model '{model}'.");
}
