using System.Globalization;
using LlmGateway.Contracts.Credentials;

namespace LlmGateway.AdminUi.Pages;

/// <summary>How values are written on the pages: times in UTC, money in USD, kinds in words.</summary>
public static class Display
{
    private static readonly CultureInfo Culture = CultureInfo.InvariantCulture;

    public static string Time(DateTimeOffset? at) =>
        at is { } value ? value.UtcDateTime.ToString("yyyy-MM-dd HH:mm 'UTC'", Culture) : "—";

    public static string TimeWithSeconds(DateTimeOffset? at) =>
        at is { } value ? value.UtcDateTime.ToString("yyyy-MM-dd HH:mm:ss 'UTC'", Culture) : "—";

    /// <summary>The machine-readable form for <c>&lt;time datetime&gt;</c>.</summary>
    public static string Iso(DateTimeOffset at) => at.UtcDateTime.ToString("yyyy-MM-dd'T'HH:mm:ss'Z'", Culture);

    /// <summary>For <c>&lt;input type="datetime-local"&gt;</c>, in UTC.</summary>
    public static string LocalInput(DateTimeOffset? at) => at is { } value ? value.UtcDateTime.ToString("yyyy-MM-dd'T'HH:mm", Culture) : "";

    public static string Number(long value) => value.ToString("N0", Culture);

    public static string Number(double value, int decimals = 1) => value.ToString("N" + decimals.ToString(Culture), Culture);

    public static string Percent(double ratio) => (ratio * 100).ToString("0.##", Culture) + " %";

    /// <summary>Dollars with cents, or more digits for the fractions of a cent a few requests cost.</summary>
    public static string Usd(decimal value) =>
        value == 0 ? "$0.00"
        : Math.Abs(value) >= 1 ? "$" + value.ToString("N2", Culture)
        : "$" + value.ToString("0.00####", Culture);

    public static string Usd(decimal? value) => value is { } v ? Usd(v) : "—";

    public static string Milliseconds(int? value) => value is { } v ? v.ToString("N0", Culture) + " ms" : "—";

    public static string KindName(CredentialKind kind) => kind switch
    {
        CredentialKind.ApiKey => "API key",
        CredentialKind.AgentToken => "Agent token",
        CredentialKind.DeviceToken => "Device token",
        CredentialKind.AdminKey => "Admin key",
        CredentialKind.User => "User (JWT)",
        _ => kind.ToString(),
    };

    public static string Owner(CredentialOwner? owner) =>
        owner is null ? "—" : owner.Name is { Length: > 0 } name ? $"{name} ({owner.Type} {owner.Id})" : $"{owner.Type} {owner.Id}";

    public static string List(IReadOnlyList<string>? values) =>
        values is null || values.Count == 0 ? "—" : values.Count == 1 && values[0] == "*" ? "all (*)" : string.Join(", ", values);

    public static string Limit(long? value) => value is { } v ? Number(v) : "no limit";

    public static string Source(string? source) => source switch
    {
        "credential" => "set on the key",
        "default" => "default for its kind",
        "configuration" => "gateway configuration",
        _ => source ?? "",
    };

    public static string Scope(string scope) => scope switch
    {
        "credential" => "This key",
        "ancestor" => "Minted from",
        "owner" => "Owner",
        _ => scope,
    };
}
