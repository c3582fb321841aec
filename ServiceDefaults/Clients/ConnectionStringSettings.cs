using Microsoft.Extensions.Options;

namespace LlmGateway.ServiceDefaults.Clients;

/// <summary>Start-up validation shared by the client registrations: a missing or unusable connection string names its key.</summary>
internal sealed class ConnectionStringValidator<TSettings>(
    string connectionName,
    string settingsSection,
    Func<TSettings, string?> connectionString,
    Func<string, string?> parseError) : IValidateOptions<TSettings>
    where TSettings : class
{
    public ValidateOptionsResult Validate(string? name, TSettings options)
    {
        if (name != connectionName)
        {
            return ValidateOptionsResult.Skip;
        }

        var value = connectionString(options);
        if (string.IsNullOrWhiteSpace(value))
        {
            return ValidateOptionsResult.Fail(MissingMessage(connectionName, settingsSection));
        }

        return parseError(value) is { } error
            ? ValidateOptionsResult.Fail($"Connection string 'ConnectionStrings:{connectionName}' is not valid: {error}")
            : ValidateOptionsResult.Success;
    }

    public static string MissingMessage(string connectionName, string settingsSection) =>
        $"Connection string '{connectionName}' is missing. Set configuration key 'ConnectionStrings:{connectionName}' " +
        $"(environment variable ConnectionStrings__{connectionName}) or '{settingsSection}:ConnectionString'.";
}
