using System.Text.Json;
using System.Text.Json.Serialization;

namespace LlmGateway.Contracts.Credentials;

/// <summary>
/// Reads <see cref="CredentialKind"/> however the writer spelled it: a number, <c>ApiKey</c>, <c>apiKey</c>,
/// <c>api_key</c> or <c>api-key</c>. The projection contract does not pin an enum style, and a reader that is strict
/// about it would turn a harmless style change in TokenService into a gateway-wide outage.
/// </summary>
public sealed class CredentialKindJsonConverter : JsonConverter<CredentialKind>
{
    public override CredentialKind Read(ref Utf8JsonReader reader, Type typeToConvert, JsonSerializerOptions options)
    {
        if (reader.TokenType == JsonTokenType.Number && reader.TryGetInt32(out var number) && Enum.IsDefined((CredentialKind)number))
        {
            return (CredentialKind)number;
        }

        if (reader.TokenType == JsonTokenType.String && !reader.HasValueSequence && reader.ValueSpan.Length <= 32)
        {
            Span<char> buffer = stackalloc char[32];
            var length = reader.CopyString(buffer);
            Span<char> letters = stackalloc char[32];
            var count = 0;
            foreach (var c in buffer[..length])
            {
                if (c is not ('_' or '-'))
                {
                    letters[count++] = char.ToLowerInvariant(c);
                }
            }

            switch (letters[..count])
            {
                case "apikey": return CredentialKind.ApiKey;
                case "agenttoken": return CredentialKind.AgentToken;
                case "devicetoken": return CredentialKind.DeviceToken;
                case "adminkey": return CredentialKind.AdminKey;
                case "user": return CredentialKind.User;
            }
        }

        throw new JsonException("Unknown credential kind.");
    }

    public override void Write(Utf8JsonWriter writer, CredentialKind value, JsonSerializerOptions options) =>
        writer.WriteStringValue(CredentialKindNames.Of(value));
}
