using LlmGateway.Contracts.Credentials;

namespace LlmGateway.TokenService.Options;

/// <summary>
/// Configuration section <c>ExternalKeys</c>: shapes of keys issued by another system that admins may register as
/// credentials (see <see cref="ExternalKeyPattern"/>). Empty by default: only gateway-issued credentials are valid.
/// </summary>
public sealed class ExternalKeyOptions
{
    public const string Section = "ExternalKeys";

    public List<ExternalKeyPattern> Patterns { get; set; } = [];
}
