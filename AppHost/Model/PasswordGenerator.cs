using System.Security.Cryptography;

namespace LlmGateway.AppHost.Model;

/// <summary>Generated passwords like Aspire's <c>CreateDefaultPasswordParameter</c> (at least 22 characters).</summary>
public static class PasswordGenerator
{
    private const string Lower = "abcdefghijklmnopqrstuvwxyz";
    private const string Upper = "ABCDEFGHIJKLMNOPQRSTUVWXYZ";
    private const string Digits = "0123456789";

    // No characters that break connection strings (',' ';' '=' quotes) or shells.
    private const string Special = "-_.~!@#%^*+";

    public static string Generate(int length, bool special)
    {
        var alphabet = Lower + Upper + Digits + (special ? Special : "");
        var chars = new char[length];
        for (var i = 0; i < length; i++)
        {
            chars[i] = alphabet[RandomNumberGenerator.GetInt32(alphabet.Length)];
        }

        // Guarantee each class once, at random positions, so password policies are always met.
        chars[0] = Lower[RandomNumberGenerator.GetInt32(Lower.Length)];
        chars[1] = Upper[RandomNumberGenerator.GetInt32(Upper.Length)];
        chars[2] = Digits[RandomNumberGenerator.GetInt32(Digits.Length)];
        RandomNumberGenerator.Shuffle(chars.AsSpan());
        return new string(chars);
    }
}
