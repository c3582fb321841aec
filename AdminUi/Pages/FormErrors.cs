using Microsoft.AspNetCore.Mvc.ModelBinding;

namespace LlmGateway.AdminUi.Pages;

/// <summary>Fields whose text could not be read as what they hold (a number that is not one): said before any API call.</summary>
public static class FormErrors
{
    public static IReadOnlyList<string> Of(ModelStateDictionary state) =>
        state.Where(entry => entry.Value?.Errors.Count > 0)
            .Select(entry => $"{Label(entry.Key)}: \"{entry.Value!.AttemptedValue}\" is not a valid value.")
            .ToList();

    private static string Label(string key) => key switch
    {
        "Scope.RequestsPerMinute" => "Requests per minute",
        "Scope.TokensPerMinute" => "Tokens per minute",
        "Scope.MaxConcurrent" => "Concurrent requests",
        "Scope.BudgetUsd" => "Budget",
        "ExpiresAt" => "Expires at",
        _ => key,
    };
}
