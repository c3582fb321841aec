using LlmGateway.Contracts.Credentials;
using LlmGateway.Gateway.Admission;
using LlmGateway.Gateway.Forwarding;
using LlmGateway.Gateway.Requests;
using LlmGateway.Gateway.Streaming;

namespace LlmGateway.Gateway.Pipeline;

/// <summary>
/// State of one model request from authentication to its usage event: what each step of
/// <see cref="ModelRequestPipeline"/> found out, and the buffers it owns until the request ends.
/// </summary>
internal sealed class ModelExchange(string requestId, ModelRoute route, CredentialProjection credential, long started)
{
    public string RequestId { get; } = requestId;
    public ModelRoute Route { get; } = route;
    public CredentialProjection Credential { get; } = credential;
    public long Started { get; } = started;

    /// <summary>The request body as the upstream receives it (translated, alias resolved).</summary>
    public PooledBody? Body { get; set; }

    /// <summary>The same request as Chat Completions, for an OpenAI-compatible target.</summary>
    public PooledBody? OpenAiBody { get; set; }

    /// <summary>What the forwarder sends, once the request is routed.</summary>
    public ForwardRequest Forward { get; set; }

    public SseUsageReader? EventReader { get; set; }
    public JsonUsageReader? JsonReader { get; set; }
    public string? Model { get; set; }
    public bool Stream { get; set; }
    public int? MaxTokens { get; set; }
    public AdmissionTicket? Ticket { get; set; }
    public int Status { get; set; } = ForwardingFailures.ClientClosedRequest;
    public string? ErrorType { get; set; }
    public string? Upstream { get; set; }
    public string? ResponseModel { get; set; }
    public string? StopReason { get; set; }
    public ResponseUsage Usage;
    public bool Estimated { get; set; }
    public int Attempts { get; set; }
    public long SendStarted { get; set; }
    public long FirstByteWritten { get; set; }

    public void Finish(int status, string? errorType)
    {
        Status = status;
        ErrorType = errorType;
    }

    /// <summary>Returns the pooled buffers; the readers' results stay readable.</summary>
    public void ReleaseBuffers()
    {
        Body?.Dispose();
        OpenAiBody?.Dispose();
        JsonReader?.Dispose();
    }
}
