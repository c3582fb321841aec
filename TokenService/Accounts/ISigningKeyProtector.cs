namespace LlmGateway.TokenService.Accounts;

/// <summary>
/// How the private halves of the JWT signing keys are stored in PostgreSQL (column <c>signing_keys.protection</c> names
/// the scheme, so a stored key is never read with the wrong one). The seam exists so that ASP.NET Core Data Protection
/// with its key ring in PostgreSQL (being added for the upstream OAuth accounts) can wrap the keys once it is in place;
/// until then <see cref="UnwrappedSigningKeys"/> stores them as PKCS#8 and relies on the database's own access control.
/// Either way the key material never reaches a log: <see cref="SigningKey"/> prints only its kid.
/// </summary>
public interface ISigningKeyProtector
{
    /// <summary>Stored beside each key; a key stored under another name is refused.</summary>
    string Name { get; }

    byte[] Protect(byte[] pkcs8);

    byte[] Unprotect(byte[] stored);
}

/// <summary>No wrapping: the database's access control is the only protection (see <see cref="ISigningKeyProtector"/>).</summary>
public sealed class UnwrappedSigningKeys : ISigningKeyProtector
{
    public string Name => "none";

    public byte[] Protect(byte[] pkcs8) => pkcs8;

    public byte[] Unprotect(byte[] stored) => stored;
}
