using Aspire.Hosting.ApplicationModel;
using Aspire.Hosting.Publishing;

namespace LlmGateway.AppHost.Hosting;

/// <summary>
/// Run mode's default for a generated parameter: generated once and kept in the state folder's
/// <c>parameters.json</c>; configuration <c>Parameters:{name}</c> still wins. (Publish mode declares Aspire's own
/// <c>generate</c> input instead, so nothing of the local state reaches a manifest.)
/// </summary>
public sealed class StoredParameterDefault(AppState state, string name, Func<string> generate) : ParameterDefault
{
    public override string GetDefaultValue() => state.GetOrCreate(name, generate);

    public override void WriteToManifest(ManifestPublishingContext context) =>
        throw new InvalidOperationException($"Parameter '{name}' is stored in the local state folder; publish mode declares it differently.");
}
