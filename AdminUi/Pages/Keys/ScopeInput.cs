using LlmGateway.Contracts.Credentials;

namespace LlmGateway.AdminUi.Pages.Keys;

/// <summary>
/// The form fields a key's scope is edited with (create and edit share them). It only turns text into the API's
/// shapes; whether the values are allowed is TokenService's to say, and the page shows its answer.
/// </summary>
public sealed class ScopeInput
{
    public string? Name { get; set; }

    /// <summary>One model id or pattern per line (or comma separated).</summary>
    public string? Models { get; set; }

    /// <summary>One route pattern per line (or comma separated).</summary>
    public string? Routes { get; set; }

    public int? RequestsPerMinute { get; set; }
    public int? TokensPerMinute { get; set; }
    public int? MaxConcurrent { get; set; }
    public decimal? BudgetUsd { get; set; }
    public string? BudgetPeriod { get; set; }

    public static IReadOnlyList<string>? ParseList(string? text)
    {
        var items = (text ?? "").Split(['\n', '\r', ','], StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
        return items.Length == 0 ? null : items;
    }

    public static string FormatList(IReadOnlyList<string> values) => string.Join('\n', values);

    public string? CleanName => string.IsNullOrWhiteSpace(Name) ? null : Name.Trim();

    public bool HasLimits => RequestsPerMinute is not null || TokensPerMinute is not null || MaxConcurrent is not null || BudgetUsd is not null;

    public CredentialLimits ToLimits() => new()
    {
        RequestsPerMinute = RequestsPerMinute,
        TokensPerMinute = TokensPerMinute,
        MaxConcurrent = MaxConcurrent,
        BudgetUsd = BudgetUsd,
        BudgetPeriod = BudgetUsd is null || string.IsNullOrWhiteSpace(BudgetPeriod) ? null : BudgetPeriod,
    };

    public static ScopeInput From(CredentialView credential) => new()
    {
        Name = credential.Name,
        Models = FormatList(credential.Models),
        Routes = FormatList(credential.Routes),
        RequestsPerMinute = credential.Limits.RequestsPerMinute,
        TokensPerMinute = credential.Limits.TokensPerMinute,
        MaxConcurrent = credential.Limits.MaxConcurrent,
        BudgetUsd = credential.Limits.BudgetUsd,
        BudgetPeriod = credential.Limits.BudgetPeriod,
    };
}
