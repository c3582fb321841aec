using LlmGateway.AppHost.Model;

namespace LlmGateway.AppHost.Orchestration;

public enum ResourceState
{
    NotStarted,
    Waiting,
    Starting,
    Running,
    Healthy,
    Unhealthy,
    Exited,
    Stopped,
    FailedToStart,
}

/// <summary>
/// A running replica of a resource. The base class owns supervision: wait for dependencies, start, probe health,
/// restart with exponential backoff after an unexpected exit, and stop on request.
/// </summary>
public abstract class ResourceInstance(Resource resource, ResourceLog log)
{
    private static readonly TimeSpan MaxBackoff = TimeSpan.FromSeconds(30);
    private readonly Lock _gate = new();
    private TaskCompletionSource _healthy = NewSignal();
    private CancellationTokenSource? _run;
    private Task? _supervisor;

    public Resource Resource { get; } = resource;
    public ResourceLog Log { get; } = log;
    public ResourceState State { get; private set; } = ResourceState.NotStarted;

    /// <summary>The process of the current run, if one was started.</summary>
    public int? ProcessId { get; protected set; }
    public virtual string Name => Resource.Name;

    /// <summary>The address shown to the operator (and used by tests), or null for resources without one.</summary>
    public abstract string? Url { get; }

    /// <summary>Completes when the resource is healthy (again, after a restart).</summary>
    public Task WhenHealthy
    {
        get
        {
            lock (_gate)
            {
                return _healthy.Task;
            }
        }
    }

    public void Start(Func<CancellationToken, Task> waitForDependencies)
    {
        lock (_gate)
        {
            if (_supervisor is { IsCompleted: false })
            {
                return;
            }

            _run = new CancellationTokenSource();
            _supervisor = SuperviseAsync(waitForDependencies, _run.Token);
        }
    }

    public async Task StopAsync()
    {
        Task? supervisor;
        lock (_gate)
        {
            _run?.Cancel();
            supervisor = _supervisor;
        }

        if (supervisor is not null)
        {
            await supervisor.ConfigureAwait(false);
        }

        SetState(ResourceState.Stopped);
    }

    /// <summary>Starts the process (or does the work) of this resource; the returned task completes when it exits.</summary>
    protected abstract Task<Task<int>> LaunchAsync(CancellationToken ct);

    /// <summary>One health probe; true when ready to serve.</summary>
    protected abstract Task<bool> ProbeAsync(CancellationToken ct);

    /// <summary>Work to do once healthy, before dependants are released (e.g. create databases).</summary>
    protected virtual Task OnHealthyAsync(CancellationToken ct) => Task.CompletedTask;

    /// <summary>Stops what <see cref="LaunchAsync"/> started.</summary>
    protected abstract Task TerminateAsync();

    protected void SetState(ResourceState state)
    {
        lock (_gate)
        {
            State = state;
            if (state == ResourceState.Healthy)
            {
                _healthy.TrySetResult();
            }
            else if (_healthy.Task.IsCompleted && state is not ResourceState.Running)
            {
                _healthy = NewSignal();
            }
        }
    }

    private async Task SuperviseAsync(Func<CancellationToken, Task> waitForDependencies, CancellationToken ct)
    {
        var backoff = TimeSpan.FromSeconds(1);
        try
        {
            SetState(ResourceState.Waiting);
            await waitForDependencies(ct).ConfigureAwait(false);
            while (!ct.IsCancellationRequested)
            {
                SetState(ResourceState.Starting);
                Task<int> exited;
                try
                {
                    exited = await LaunchAsync(ct).ConfigureAwait(false);
                }
                catch (Exception ex) when (ex is not OperationCanceledException)
                {
                    Log.Write($"failed to start: {ex.Message}");
                    SetState(ResourceState.FailedToStart);
                    if (ex is PrerequisiteMissingException)
                    {
                        throw;
                    }

                    await Task.Delay(backoff, ct).ConfigureAwait(false);
                    backoff = Next(backoff);
                    continue;
                }

                SetState(ResourceState.Running);
                var startedAt = DateTime.UtcNow;
                using (var probing = CancellationTokenSource.CreateLinkedTokenSource(ct))
                {
                    var health = MonitorHealthAsync(probing.Token);
                    try
                    {
                        await exited.WaitAsync(ct).ConfigureAwait(false);
                    }
                    catch (OperationCanceledException)
                    {
                        await probing.CancelAsync().ConfigureAwait(false);
                        await TerminateAsync().ConfigureAwait(false);
                        await health.ConfigureAwait(false);
                        return;
                    }

                    await probing.CancelAsync().ConfigureAwait(false);
                    await health.ConfigureAwait(false);
                }

                SetState(ResourceState.Exited);
                if (DateTime.UtcNow - startedAt > MaxBackoff)
                {
                    backoff = TimeSpan.FromSeconds(1);
                }

                Log.Write($"exited with code {exited.Result}; restarting in {backoff.TotalSeconds:0}s");
                await Task.Delay(backoff, ct).ConfigureAwait(false);
                backoff = Next(backoff);
            }
        }
        catch (OperationCanceledException) when (ct.IsCancellationRequested)
        {
        }
        catch (PrerequisiteMissingException)
        {
            // Reported by the orchestrator, which waits on WhenHealthy and sees FailedToStart.
            lock (_gate)
            {
                _healthy.TrySetException(new PrerequisiteMissingException("see log"));
            }
        }
    }

    private async Task MonitorHealthAsync(CancellationToken ct)
    {
        var healthyOnce = false;
        try
        {
            while (!ct.IsCancellationRequested)
            {
                bool ok;
                try
                {
                    using var timeout = CancellationTokenSource.CreateLinkedTokenSource(ct);
                    timeout.CancelAfter(TimeSpan.FromSeconds(5));
                    ok = await ProbeAsync(timeout.Token).ConfigureAwait(false);
                }
                catch (Exception) when (!ct.IsCancellationRequested)
                {
                    ok = false;
                }

                if (ok && !healthyOnce)
                {
                    try
                    {
                        await OnHealthyAsync(ct).ConfigureAwait(false);
                        healthyOnce = true;
                    }
                    catch (Exception ex) when (!ct.IsCancellationRequested)
                    {
                        Log.Write($"not ready yet: {ex.Message}");
                        ok = false;
                    }
                }

                if (ok)
                {
                    SetState(ResourceState.Healthy);
                }
                else if (healthyOnce)
                {
                    SetState(ResourceState.Unhealthy);
                }

                // Probe fast until healthy, then at a relaxed pace.
                await Task.Delay(healthyOnce ? TimeSpan.FromSeconds(5) : TimeSpan.FromMilliseconds(100), ct).ConfigureAwait(false);
            }
        }
        catch (OperationCanceledException)
        {
        }
        catch (Exception ex)
        {
            Log.Write($"health monitor failed: {ex.Message}");
        }
    }

    private static TimeSpan Next(TimeSpan backoff) => backoff * 2 > MaxBackoff ? MaxBackoff : backoff * 2;

    private static TaskCompletionSource NewSignal() => new(TaskCreationOptions.RunContinuationsAsynchronously);
}
