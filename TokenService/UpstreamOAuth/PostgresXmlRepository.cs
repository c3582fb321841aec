using System.Xml.Linq;
using Microsoft.AspNetCore.DataProtection.Repositories;
using Npgsql;
using NpgsqlTypes;

namespace LlmGateway.TokenService.UpstreamOAuth;

/// <summary>
/// Data Protection's key ring in PostgreSQL (table <c>dataprotection_keys</c>), so every TokenService replica protects and
/// unprotects with the same keys. Why not Microsoft.AspNetCore.DataProtection.EntityFrameworkCore: TokenService talks to
/// PostgreSQL through Npgsql without EF Core; pulling EF Core and a DbContext in for one two-column table would add a
/// second data-access stack. <see cref="IXmlRepository"/> is two methods, so this is the smaller thing to own.
/// The key XML itself is not encrypted at rest (Data Protection's default without a certificate or KMS): whoever can read
/// this table can read the tokens, the same trust boundary as the rest of the database; an XML encryptor (certificate,
/// Azure Key Vault) can be added to the builder without changing this class.
/// </summary>
public sealed class PostgresXmlRepository(NpgsqlDataSource dataSource) : IXmlRepository
{
    public IReadOnlyCollection<XElement> GetAllElements()
    {
        using var connection = dataSource.OpenConnection();
        using var command = new NpgsqlCommand("SELECT xml FROM dataprotection_keys ORDER BY id", connection);
        using var reader = command.ExecuteReader();
        var elements = new List<XElement>();
        while (reader.Read())
        {
            elements.Add(XElement.Parse(reader.GetString(0)));
        }

        return elements;
    }

    public void StoreElement(XElement element, string friendlyName)
    {
        using var connection = dataSource.OpenConnection();
        using var command = new NpgsqlCommand("INSERT INTO dataprotection_keys (friendly_name, xml) VALUES (@name, @xml)", connection);
        command.Parameters.Add(new NpgsqlParameter("name", NpgsqlDbType.Text) { Value = friendlyName });
        command.Parameters.Add(new NpgsqlParameter("xml", NpgsqlDbType.Text) { Value = element.ToString(SaveOptions.DisableFormatting) });
        command.ExecuteNonQuery();
    }
}
