using LlmGateway.Contracts;
using LlmGateway.TokenService.Accounts;
using LlmGateway.TokenService.Authentication;
using LlmGateway.TokenService.Infrastructure;
using LlmGateway.TokenService.Model;
using LlmGateway.TokenService.Options;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.AspNetCore.Identity;
using Microsoft.Extensions.Options;

namespace LlmGateway.TokenService.Apis;

/// <summary>
/// Local accounts (seed 003). Every registration, sign-in and failed sign-in is audited with the client's address; a
/// password never reaches a log, the audit log or an error message.
/// </summary>
/// <remarks>
/// <code>
/// POST /api/auth/register  {email, password, name?, invite_code?}  → 201 {token, token_type, expires_at, user}
///                          400 invalid · 403 registration closed / invite required or not valid · 409 email taken
/// POST /api/auth/login     {email, password}                       → 200 {token, token_type, expires_at, user}
///                          401 wrong email or password (one message for both) · 403 disabled · 423 locked (Retry-After)
/// Both: 429 beyond Accounts:SignInsPerMinutePerAddress per client address (per instance).
/// GET  /api/auth/me        the signed-in account
/// </code>
/// </remarks>
public static partial class AuthApi
{
    public const string SignInRateLimitPolicy = "sign-in";

    public static IEndpointRouteBuilder MapAuthApi(this IEndpointRouteBuilder app)
    {
        var auth = app.MapGroup("/api/auth");
        auth.MapPost("/register", Register).RequireRateLimiting(SignInRateLimitPolicy);
        auth.MapPost("/login", Login).RequireRateLimiting(SignInRateLimitPolicy);
        auth.MapGet("/me", Me).RequireAuthorization(UserAuthenticator.Scheme);
        return app;
    }

    public static async Task<Results<Created<SignInResponse>, ApiError>> Register(
        JsonBody<RegisterRequest> body, [AsParameters] AuthApiServices services, HttpContext http)
    {
        if (!body.TryGetValue(out var request, out var bodyError))
        {
            return bodyError;
        }

        var options = services.Options.Value;
        var invalid = AccountRules.Email(request.Email)
            ?? AccountRules.Password(request.Password, options.MinPasswordLength)
            ?? InputRules.Label(request.Name, "name", 200)
            ?? InputRules.Label(request.InviteCode, "invite_code", 200);
        if (invalid is not null)
        {
            return ApiError.InvalidRequest(invalid + ".");
        }

        var address = CallerCredential.Address(http);
        var draft = new UserAccount
        {
            Id = UserAccount.NewId(),
            Email = AccountRules.NormalizeEmail(request.Email!),
            Name = request.Name,
            PasswordHash = "",
            Role = UserRoles.Member,
            OrganizationId = options.OrganizationId,
            CreatedAt = services.Time.GetUtcNow(),
        };
        draft = draft with { PasswordHash = services.Hasher.HashPassword(draft, request.Password!) };
        var policy = new RegistrationPolicy(
            options.Registration,
            options.AdminEmail is { Length: > 0 } adminEmail ? AccountRules.NormalizeEmail(adminEmail) : null,
            request.InviteCode is { } code ? Contracts.Credentials.CredentialFormat.Hash(code.Trim()) : null);
        var outcome = await services.Store.RegisterAsync(draft, policy, user => new AuditRecord(
            Timestamps.NowMicroseconds(services.Time), user.Id, user.Email, "account.register", user.Id, address,
            new { email = user.Email, name = user.Name, organization_id = user.OrganizationId }));
        switch (outcome.Result)
        {
            case RegisterResult.EmailTaken:
                return ApiError.Conflict($"An account with the email {draft.Email} already exists; sign in with POST /api/auth/login.");
            case RegisterResult.Closed:
                return ApiError.Permission("Registration is closed on this gateway; ask an administrator for an account.");
            case RegisterResult.InviteRequired:
                return ApiError.Permission("Registration on this gateway is by invitation: send the invite_code an administrator gave you.");
            case RegisterResult.InviteInvalid:
                return ApiError.Permission("The invite code is not valid: it is unknown, already used, expired, or for another email.");
        }

        var user = outcome.User!;
        LogRegistered(services.Logger, user.Id, user.Role, address);
        var (token, expiresAt) = await services.Tokens.IssueAsync(user, CancellationToken.None);
        return TypedResults.Created("/api/auth/me", new SignInResponse(token, "Bearer", expiresAt, SignedInUserView.From(user)));
    }

    public static async Task<Results<Ok<SignInResponse>, ApiError>> Login(
        JsonBody<LoginRequest> body, [AsParameters] AuthApiServices services, HttpContext http)
    {
        if (!body.TryGetValue(out var request, out var bodyError))
        {
            return bodyError;
        }

        if (string.IsNullOrWhiteSpace(request.Email) || string.IsNullOrEmpty(request.Password))
        {
            return ApiError.InvalidRequest("email and password are required.");
        }

        var options = services.Options.Value;
        var address = CallerCredential.Address(http);
        var email = AccountRules.NormalizeEmail(request.Email);
        var now = services.Time.GetUtcNow();
        var user = email.Length <= 254 ? await services.Store.FindUserByEmailAsync(email, http.RequestAborted) : null;
        AuditRecord Failed(string actor, string reason, object? extra = null) => new(
            Timestamps.NowMicroseconds(services.Time), actor, email, "account.sign_in_failed", user?.Id, address, new { email, reason, detail = extra });

        if (user is null)
        {
            // The same work as a real check, so response times do not tell which emails have accounts.
            services.Hasher.VerifyHashedPassword(DummyAccount, DummyHash.Value, request.Password);
            await services.Store.AppendAuditAsync(Failed("anonymous", "unknown_email"));
            LogSignInFailed(services.Logger, "unknown_email", address);
            return ApiError.Authentication(WrongCredentials);
        }

        if (user.IsLockedAt(now))
        {
            await services.Store.AppendAuditAsync(Failed(user.Id, "locked"));
            LogSignInFailed(services.Logger, "locked", address);
            return Locked(user.LockedUntil!.Value, now);
        }

        var verification = services.Hasher.VerifyHashedPassword(user, user.PasswordHash, request.Password);
        if (verification == PasswordVerificationResult.Failed)
        {
            var after = await services.Store.RecordSignInAsync(
                user.Id, succeeded: false, null, options.MaxFailedSignIns, options.LockoutDurationValue, Failed(user.Id, "wrong_password"));
            LogSignInFailed(services.Logger, "wrong_password", address);
            return after?.IsLockedAt(now) == true
                ? Locked(after.LockedUntil!.Value, now)
                : ApiError.Authentication(WrongCredentials);
        }

        if (user.DisabledAt is not null)
        {
            await services.Store.AppendAuditAsync(Failed(user.Id, "disabled"));
            LogSignInFailed(services.Logger, "disabled", address);
            return ApiError.Permission("This account is disabled; ask an administrator.");
        }

        var rehashed = verification == PasswordVerificationResult.SuccessRehashNeeded ? services.Hasher.HashPassword(user, request.Password) : null;
        user = await services.Store.RecordSignInAsync(user.Id, succeeded: true, rehashed, options.MaxFailedSignIns, options.LockoutDurationValue,
            new AuditRecord(Timestamps.NowMicroseconds(services.Time), user.Id, user.Email, "account.sign_in", user.Id, address, new { email, role = user.Role })) ?? user;
        var (token, expiresAt) = await services.Tokens.IssueAsync(user, CancellationToken.None);
        LogSignedIn(services.Logger, user.Id, address);
        return TypedResults.Ok(new SignInResponse(token, "Bearer", expiresAt, SignedInUserView.From(user)));
    }

    public static Ok<UserView> Me(TimeProvider time, HttpContext http) =>
        TypedResults.Ok(UserView.From(SignedInUser.Of(http).Account, time.GetUtcNow()));

    private const string WrongCredentials = "The email or password is incorrect.";

    private static readonly UserAccount DummyAccount = new()
    {
        Id = "usr_none",
        Email = "none@invalid.example",
        PasswordHash = "",
        Role = UserRoles.Member,
        OrganizationId = "none",
        CreatedAt = DateTimeOffset.UnixEpoch,
    };

    private static readonly Lazy<string> DummyHash = new(() => new PasswordHasher<UserAccount>().HashPassword(DummyAccount, Guid.NewGuid().ToString()));

    private static ApiError Locked(DateTimeOffset until, DateTimeOffset now) => ApiError.Locked(
        $"Too many failed sign-ins: the account is locked until {UtcTimestampConverter.Format(until)}.", until - now);

    [LoggerMessage(EventId = 2121, Level = LogLevel.Information, Message = "Registered account {UserId} ({Role}) from {ClientAddress}")]
    private static partial void LogRegistered(ILogger logger, string userId, string role, string clientAddress);

    [LoggerMessage(EventId = 2122, Level = LogLevel.Information, Message = "Account {UserId} signed in from {ClientAddress}")]
    private static partial void LogSignedIn(ILogger logger, string userId, string clientAddress);

    [LoggerMessage(EventId = 2123, Level = LogLevel.Information, Message = "Failed sign-in ({Reason}) from {ClientAddress}")]
    private static partial void LogSignInFailed(ILogger logger, string reason, string clientAddress);
}

public sealed record AuthApiServices(
    CredentialStore Store,
    UserTokens Tokens,
    IPasswordHasher<UserAccount> Hasher,
    IOptions<AccountOptions> Options,
    TimeProvider Time,
    ILoggerFactory LoggerFactory)
{
    public ILogger Logger { get; } = LoggerFactory.CreateLogger(typeof(AuthApi).FullName!);
}
