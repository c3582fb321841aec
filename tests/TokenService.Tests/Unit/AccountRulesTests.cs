using LlmGateway.TokenService.Model;
using LlmGateway.TokenService.Options;

namespace LlmGateway.TokenService.Tests.Unit;

public sealed class AccountRulesTests
{
    [Theory]
    [InlineData("ada@example.com")]
    [InlineData("Ada.Lovelace+gw@mail.example.org")]
    public void Plain_addresses_are_emails(string email) => Assert.Null(AccountRules.Email(email));

    [Theory]
    [InlineData("")]
    [InlineData("ada")]
    [InlineData("ada@localhost")]
    [InlineData("ada@@example.com")]
    [InlineData("Ada <ada@example.com>")]
    [InlineData("ada @example.com")]
    [InlineData("ada@example.com.")]
    public void Anything_else_is_not(string email) => Assert.NotNull(AccountRules.Email(email));

    [Fact]
    public void Emails_are_compared_lower_case_and_trimmed() => Assert.Equal("ada@example.com", AccountRules.NormalizeEmail("  Ada@Example.COM "));

    [Fact]
    public void Passwords_shorter_than_the_minimum_are_refused_without_echoing_them()
    {
        var message = AccountRules.Password("short-pass", 12);
        Assert.Equal("password must be at least 12 characters", message);
        Assert.Null(AccountRules.Password("long-enough-pass", 12));
    }

    [Fact]
    public void An_account_never_prints_its_password_hash()
    {
        var account = new UserAccount
        {
            Id = "usr_1", Email = "a@example.com", PasswordHash = "AQAAAAIAAYagAAAAE-secret-hash", Role = UserRoles.Member,
            OrganizationId = "local", CreatedAt = DateTimeOffset.UnixEpoch,
        };
        Assert.DoesNotContain("secret-hash", account.ToString(), StringComparison.Ordinal);
    }

    [Fact]
    public void Account_options_are_validated_at_start_up()
    {
        var validation = new AccountOptionsValidation();
        Assert.True(validation.Validate(null, new AccountOptions()).Succeeded);
        var bad = validation.Validate(null, new AccountOptions
        {
            MinPasswordLength = 4,
            LockoutDuration = "soon",
            AdminEmail = "not-an-email",
            Jwt = new UserTokenOptions { Lifetime = "1s" },
        });
        Assert.True(bad.Failed);
        Assert.Contains("Accounts:MinPasswordLength", bad.FailureMessage, StringComparison.Ordinal);
        Assert.Contains("Accounts:LockoutDuration", bad.FailureMessage, StringComparison.Ordinal);
        Assert.Contains("Accounts:AdminEmail", bad.FailureMessage, StringComparison.Ordinal);
        Assert.Contains("Accounts:Jwt:Lifetime", bad.FailureMessage, StringComparison.Ordinal);
    }
}
