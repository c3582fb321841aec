using Microsoft.Extensions.Options;

namespace LlmGateway.ServiceDefaults.Resilience;

/// <summary>
/// Checks the settings as a whole (the same rules as Microsoft.Extensions.Http.Resilience) plus the ranges Polly
/// would otherwise reject later with a less helpful message.
/// </summary>
internal sealed class HttpResilienceOptionsValidator : IValidateOptions<HttpResilienceOptions>
{
    public ValidateOptionsResult Validate(string? name, HttpResilienceOptions options)
    {
        var prefix = string.IsNullOrEmpty(name) ? HttpResilienceOptions.SectionName : $"{HttpResilienceOptions.SectionName} (client '{name}')";
        var failures = new List<string>();

        if (options.ConcurrencyLimit.PermitLimit < 1)
        {
            failures.Add($"{prefix}: ConcurrencyLimit:PermitLimit must be at least 1");
        }

        if (options.ConcurrencyLimit.QueueLimit < 0)
        {
            failures.Add($"{prefix}: ConcurrencyLimit:QueueLimit must not be negative");
        }

        RequireTimeout(options.TotalRequestTimeout, "TotalRequestTimeout");
        RequireTimeout(options.AttemptTimeout, "AttemptTimeout");

        if (options.AttemptTimeout > options.TotalRequestTimeout)
        {
            failures.Add($"{prefix}: AttemptTimeout ({options.AttemptTimeout}) must not exceed TotalRequestTimeout ({options.TotalRequestTimeout})");
        }

        if (options.Retry.MaxRetryAttempts < 0)
        {
            failures.Add($"{prefix}: Retry:MaxRetryAttempts must not be negative");
        }

        if (options.Retry.Delay < TimeSpan.Zero)
        {
            failures.Add($"{prefix}: Retry:Delay must not be negative");
        }

        if (options.Retry.MaxDelay is { } maxDelay && maxDelay < TimeSpan.Zero)
        {
            failures.Add($"{prefix}: Retry:MaxDelay must not be negative");
        }

        var breaker = options.CircuitBreaker;
        if (breaker.FailureRatio is <= 0 or > 1)
        {
            failures.Add($"{prefix}: CircuitBreaker:FailureRatio must be greater than 0 and at most 1");
        }

        if (breaker.MinimumThroughput < 2)
        {
            failures.Add($"{prefix}: CircuitBreaker:MinimumThroughput must be at least 2");
        }

        if (breaker.SamplingDuration < TimeSpan.FromMilliseconds(500) || breaker.BreakDuration < TimeSpan.FromMilliseconds(500))
        {
            failures.Add($"{prefix}: CircuitBreaker:SamplingDuration and BreakDuration must be at least 500 ms");
        }

        // A sampling window shorter than two attempts could never see a slow failure and its retry together.
        if (breaker.SamplingDuration < options.AttemptTimeout * 2)
        {
            failures.Add($"{prefix}: CircuitBreaker:SamplingDuration ({breaker.SamplingDuration}) must be at least twice AttemptTimeout ({options.AttemptTimeout})");
        }

        return failures.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(failures);

        void RequireTimeout(TimeSpan value, string key)
        {
            // Polly's timeout strategy accepts 10 ms to 24 h.
            if (value < TimeSpan.FromMilliseconds(10) || value > TimeSpan.FromHours(24))
            {
                failures.Add($"{prefix}: {key} must be between 10 ms and 24 h (was {value})");
            }
        }
    }
}
