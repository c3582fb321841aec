using LlmGateway.Contracts.Credentials;
using LlmGateway.TokenService.Model;

namespace LlmGateway.TokenService.Tests.Unit;

public sealed class ScopeRulesTests
{
    private static readonly CredentialScope Parent = new(
        ["claude-sonnet-*", "claude-haiku-4-5"],
        ["/v1/messages", "/v1/messages/*"],
        new CredentialLimits { RequestsPerMinute = 100, TokensPerMinute = 50_000, MaxConcurrent = 4, BudgetUsd = 10m, BudgetPeriod = "daily" });

    [Fact]
    public void A_request_without_scope_inherits_the_parents_scope()
    {
        var result = ScopeRules.Narrow(Parent, null, null, null);

        Assert.Null(result.Error);
        Assert.Equal(Parent.Models, result.Scope!.Models);
        Assert.Equal(Parent.Routes, result.Scope.Routes);
        Assert.Equal(Parent.Limits, result.Scope.Limits);
    }

    [Fact]
    public void Narrower_models_routes_and_limits_are_accepted_and_unset_limits_are_inherited()
    {
        var result = ScopeRules.Narrow(Parent, ["claude-sonnet-4-5*"], ["/v1/messages"], new CredentialLimits { RequestsPerMinute = 10, BudgetUsd = 1m });

        Assert.Null(result.Error);
        Assert.Equal(["claude-sonnet-4-5*"], result.Scope!.Models);
        Assert.Equal(10, result.Scope.Limits.RequestsPerMinute);
        Assert.Equal(50_000, result.Scope.Limits.TokensPerMinute);
        Assert.Equal(4, result.Scope.Limits.MaxConcurrent);
        Assert.Equal(1m, result.Scope.Limits.BudgetUsd);
        Assert.Equal("daily", result.Scope.Limits.BudgetPeriod);
    }

    [Theory]
    [InlineData("claude-opus-4-1")]
    [InlineData("claude-*")]
    [InlineData("*")]
    [InlineData("claude-haiku-*")]
    public void Wider_models_are_refused_naming_the_offending_entry(string model)
    {
        var result = ScopeRules.Narrow(Parent, [model], null, null);

        Assert.Null(result.Scope);
        Assert.Contains($"\"{model}\"", result.Error, StringComparison.Ordinal);
        Assert.Contains("only narrow", result.Error, StringComparison.Ordinal);
    }

    [Fact]
    public void Wider_routes_are_refused() =>
        Assert.Contains("routes [\"/v1/*\"]", ScopeRules.Narrow(Parent, null, ["/v1/*"], null).Error, StringComparison.Ordinal);

    [Theory]
    [InlineData(101, null, null, "limits.requests_per_minute (101) exceeds the parent credential's limit (100)")]
    [InlineData(null, 50_001, null, "limits.tokens_per_minute (50001) exceeds")]
    [InlineData(null, null, 5, "limits.max_concurrent (5) exceeds")]
    public void Higher_limits_are_refused(int? rpm, int? tpm, int? concurrent, string message)
    {
        var result = ScopeRules.Narrow(Parent, null, null, new CredentialLimits { RequestsPerMinute = rpm, TokensPerMinute = tpm, MaxConcurrent = concurrent });
        Assert.Contains(message, result.Error, StringComparison.Ordinal);
    }

    [Fact]
    public void A_bigger_budget_or_another_budget_period_is_refused()
    {
        Assert.Contains("budget_usd (10.01) exceeds", ScopeRules.Narrow(Parent, null, null, new CredentialLimits { BudgetUsd = 10.01m }).Error, StringComparison.Ordinal);
        Assert.Contains("budget_period must be the parent credential's (\"daily\")",
            ScopeRules.Narrow(Parent, null, null, new CredentialLimits { BudgetUsd = 1m, BudgetPeriod = "monthly" }).Error, StringComparison.Ordinal);
    }

    [Fact]
    public void Under_an_unlimited_parent_any_limit_is_a_narrowing()
    {
        var result = ScopeRules.Narrow(CredentialScope.Unrestricted, ["claude-*"], null, new CredentialLimits { RequestsPerMinute = 1_000_000, BudgetUsd = 5m });

        Assert.Null(result.Error);
        Assert.Equal("total", result.Scope!.Limits.BudgetPeriod);
        Assert.Null(result.Scope.Limits.TokensPerMinute);
    }

    [Fact]
    public void WhyNotWithin_requires_every_limit_the_parent_has()
    {
        var child = Parent with { Limits = Parent.Limits with { RequestsPerMinute = null } };
        Assert.Equal("requests_per_minute exceeds the parent's", ScopeRules.WhyNotWithin(child, Parent));
        Assert.Null(ScopeRules.WhyNotWithin(Parent, Parent));
        Assert.NotNull(ScopeRules.WhyNotWithin(CredentialScope.Unrestricted, Parent));
    }

    [Theory]
    [InlineData(new string[0], "must not be empty")]
    [InlineData(new[] { "claude-*-latest" }, "may only have '*' at the end")]
    [InlineData(new[] { "claude sonnet" }, "contains ' '")]
    [InlineData(new[] { "" }, "empty entries")]
    public void Malformed_model_lists_are_rejected(string[] models, string message) =>
        Assert.Contains(message, ScopeRules.ValidateModels(models), StringComparison.Ordinal);

    [Fact]
    public void Real_model_ids_and_wildcards_are_valid()
    {
        Assert.Null(ScopeRules.ValidateModels(["claude-sonnet-4-5-20250929", "claude-*", "*", "gpt-4o", "anthropic/claude-3.5:beta"]));
        Assert.Null(ScopeRules.ValidateRoutes(["/v1/messages", "/v1/*", "*"]));
        Assert.Contains("must start with '/'", ScopeRules.ValidateRoutes(["v1/messages"]), StringComparison.Ordinal);
    }

    [Theory]
    [InlineData(0, null, "limits.requests_per_minute must be at least 1")]
    [InlineData(null, -1, "limits.budget_usd must be between 0 and")]
    public void Out_of_range_limits_are_rejected(int? rpm, int? budget, string message) =>
        Assert.Contains(message, ScopeRules.ValidateLimits(new CredentialLimits { RequestsPerMinute = rpm, BudgetUsd = budget }), StringComparison.Ordinal);

    [Fact]
    public void A_budget_period_needs_a_known_name_and_a_budget()
    {
        Assert.Contains("must be one of", ScopeRules.ValidateLimits(new CredentialLimits { BudgetUsd = 1, BudgetPeriod = "weekly" }), StringComparison.Ordinal);
        Assert.Contains("needs limits.budget_usd", ScopeRules.ValidateLimits(new CredentialLimits { BudgetPeriod = "daily" }), StringComparison.Ordinal);
        Assert.Contains("at most 6 decimal places", ScopeRules.ValidateLimits(new CredentialLimits { BudgetUsd = 0.0000001m }), StringComparison.Ordinal);
    }
}
