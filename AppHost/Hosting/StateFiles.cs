namespace LlmGateway.AppHost.Hosting;

/// <summary>Small file operations on the state folder, where secrets are written mode 600.</summary>
public static class StateFiles
{
    /// <summary>Writes a file readable only by its owner, atomically (a reader never sees half of it).</summary>
    public static async Task WriteSecretAsync(string path, string contents, CancellationToken ct = default)
    {
        Directory.CreateDirectory(Path.GetDirectoryName(path)!);
        var temp = path + ".tmp";
        await using (var stream = new FileStream(temp, new FileStreamOptions
        {
            Mode = FileMode.Create,
            Access = FileAccess.Write,
            UnixCreateMode = UnixFileMode.UserRead | UnixFileMode.UserWrite,
        }))
        await using (var writer = new StreamWriter(stream))
        {
            await writer.WriteAsync(contents.AsMemory(), ct).ConfigureAwait(false);
        }

        File.Move(temp, path, overwrite: true);
    }

    /// <summary>Lets other users (the postgres system user) walk down to <paramref name="directory"/>.</summary>
    public static void MakeTraversable(string directory)
    {
        for (var d = new DirectoryInfo(directory); d is not null; d = d.Parent)
        {
            var mode = File.GetUnixFileMode(d.FullName);
            if (!mode.HasFlag(UnixFileMode.OtherExecute))
            {
                File.SetUnixFileMode(d.FullName, mode | UnixFileMode.OtherExecute);
            }
        }
    }
}
