using System.Globalization;

namespace LlmGateway.Testing;

/// <summary>Reads the process tree from <c>/proc</c>.</summary>
public static class ProcessTree
{
    /// <summary>
    /// The application a <c>dotnet run</c> launcher started: its first descendant that is not itself <c>dotnet</c>
    /// (a project's apphost executable), or null while there is none yet.
    /// </summary>
    public static int? ApplicationProcess(int launcher)
    {
        var pending = new Queue<int>(Children(launcher));
        while (pending.TryDequeue(out var pid))
        {
            if (!string.Equals(Name(pid), "dotnet", StringComparison.Ordinal))
            {
                return pid;
            }

            foreach (var child in Children(pid))
            {
                pending.Enqueue(child);
            }
        }

        return null;
    }

    public static IEnumerable<int> Children(int parent)
    {
        foreach (var directory in Directory.EnumerateDirectories("/proc"))
        {
            if (int.TryParse(Path.GetFileName(directory), NumberStyles.None, CultureInfo.InvariantCulture, out var pid)
                && Stat(pid) is { } stat && stat.Parent == parent)
            {
                yield return pid;
            }
        }
    }

    /// <summary>Whether the process exists and has not exited (a zombie has exited; only its parent has not reaped it).</summary>
    public static bool IsRunning(int pid) => Stat(pid) is { } stat && stat.State != 'Z';

    public static string? Name(int pid)
    {
        try
        {
            return File.ReadAllText($"/proc/{pid}/comm").TrimEnd('\n');
        }
        catch (IOException)
        {
            return null;
        }
    }

    private static (char State, int Parent)? Stat(int pid)
    {
        try
        {
            // "pid (comm) state ppid ...": comm may hold spaces and parentheses, so split after its last ')'.
            var text = File.ReadAllText($"/proc/{pid}/stat");
            var fields = text[(text.LastIndexOf(')') + 2)..].Split(' ');
            return (fields[0][0], int.Parse(fields[1], CultureInfo.InvariantCulture));
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or FormatException or IndexOutOfRangeException)
        {
            return null;
        }
    }
}
