using System.Globalization;
using System.Runtime.InteropServices;

namespace LlmGateway.Benchmarks;

/// <summary>A process's own CPU accounting (user + system time) and resident memory, read from /proc.</summary>
public static partial class ProcessMeter
{
    private static readonly double TicksPerSecond = SysConf(2 /* _SC_CLK_TCK */);

    /// <summary>CPU time consumed so far by the process (all threads).</summary>
    public static TimeSpan CpuTime(int pid) =>
        TryStat(pid)?.Cpu ?? throw new InvalidOperationException($"Process {pid} is not running.");

    /// <summary>
    /// CPU time consumed so far by the process and every live descendant (PostgreSQL serves each connection from a
    /// child of its postmaster); a process that exits in between is not counted.
    /// </summary>
    public static TimeSpan CpuTimeOfTree(int rootPid)
    {
        var processes = new Dictionary<int, (int Parent, TimeSpan Cpu)>();
        foreach (var directory in Directory.EnumerateDirectories("/proc"))
        {
            if (int.TryParse(Path.GetFileName(directory), out var pid) && TryStat(pid) is { } stat)
            {
                processes[pid] = stat;
            }
        }

        var total = TimeSpan.Zero;
        foreach (var (pid, (_, cpu)) in processes)
        {
            for (var p = pid; p > 1; p = processes.TryGetValue(p, out var up) ? up.Parent : 0)
            {
                if (p == rootPid)
                {
                    total += cpu;
                    break;
                }
            }
        }

        return total;
    }

    private static (int Parent, TimeSpan Cpu)? TryStat(int pid)
    {
        string stat;
        try
        {
            stat = File.ReadAllText($"/proc/{pid}/stat");
        }
        catch (IOException)
        {
            return null; // exited meanwhile
        }
        catch (UnauthorizedAccessException)
        {
            return null;
        }

        // After the command: state(0) ppid(1) ... utime(11) stime(12)
        var fields = stat[(stat.LastIndexOf(')') + 2)..].Split(' ');
        var ticks = long.Parse(fields[11], CultureInfo.InvariantCulture) + long.Parse(fields[12], CultureInfo.InvariantCulture);
        return (int.Parse(fields[1], CultureInfo.InvariantCulture), TimeSpan.FromSeconds(ticks / TicksPerSecond));
    }

    /// <summary>Resident set size in bytes.</summary>
    public static long ResidentBytes(int pid)
    {
        foreach (var line in File.ReadLines($"/proc/{pid}/status"))
        {
            if (line.StartsWith("VmRSS:", StringComparison.Ordinal))
            {
                var kb = long.Parse(line["VmRSS:".Length..].Trim().Split(' ')[0], CultureInfo.InvariantCulture);
                return kb * 1024;
            }
        }

        throw new InvalidOperationException($"No VmRSS for process {pid}.");
    }

    /// <summary>
    /// What the resident set is made of (<c>/proc/PID/smaps_rollup</c>), in bytes: its proportional share (shared pages
    /// divided among the processes that map them: the .NET framework's files are mapped by every service), the pages
    /// only this process maps, and the part of RSS that is the runtime's double-mapped code (W^X maps each page of
    /// generated code twice, and RSS counts it twice).
    /// </summary>
    public static (long Proportional, long Private, long DoubleMappedCode) MemoryBreakdown(int pid)
    {
        long pss = 0, privateClean = 0, privateDirty = 0, shmem = 0;
        foreach (var line in File.ReadLines($"/proc/{pid}/smaps_rollup"))
        {
            var parts = line.Split(':', 2);
            if (parts.Length != 2)
            {
                continue;
            }

            var value = parts[1].Trim().Split(' ')[0];
            if (!long.TryParse(value, CultureInfo.InvariantCulture, out var kb))
            {
                continue;
            }

            switch (parts[0])
            {
                case "Pss": pss = kb; break;
                case "Private_Clean": privateClean = kb; break;
                case "Private_Dirty": privateDirty = kb; break;
                case "Pss_Shmem": shmem = kb; break;
            }
        }

        return (pss * 1024, (privateClean + privateDirty) * 1024, shmem * 1024);
    }

    [LibraryImport("libc", EntryPoint = "sysconf")]
    private static partial long SysConf(int name);
}
