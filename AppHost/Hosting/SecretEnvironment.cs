namespace LlmGateway.AppHost.Hosting;

/// <summary>Keeps secrets given to the AppHost out of its children's environments.</summary>
public static class SecretEnvironment
{
    /// <summary>
    /// Removes <c>Parameters__*</c> variables from this process's environment once configuration has read them.
    /// DCP, and through it every resource, inherits this environment; each parameter reaches only the resources
    /// the model hands it to.
    /// </summary>
    public static void RemoveParameters()
    {
        foreach (var name in Environment.GetEnvironmentVariables().Keys.Cast<string>())
        {
            if (name.StartsWith("Parameters__", StringComparison.OrdinalIgnoreCase)
                || name.StartsWith("Parameters:", StringComparison.OrdinalIgnoreCase))
            {
                Environment.SetEnvironmentVariable(name, null);
            }
        }
    }
}
