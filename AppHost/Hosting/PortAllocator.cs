using System.Globalization;
using System.Net;
using System.Net.Sockets;

namespace LlmGateway.AppHost.Hosting;

/// <summary>
/// Finds free loopback ports. A port is reserved for the life of the app so restarts reuse it.
/// </summary>
/// <remarks>
/// A port is handed out seconds before its process binds it (a service starts once its dependencies are healthy).
/// Ports the kernel hands to <c>bind(0)</c> and to outgoing connections could be taken by anything in that window, so
/// on Linux ports come from below the ephemeral range (<c>/proc/sys/net/ipv4/ip_local_port_range</c>), which the
/// kernel never picks on its own; and each one is reserved across processes with a lock file held for the life of
/// this process (two AppHosts, or test processes running apps side by side, never pick the same port).
/// </remarks>
public static class PortAllocator
{
    private const int LowestPort = 10_000;
    private static readonly HashSet<int> Handed = [];
    private static readonly List<FileStream> Reservations = [];
    private static readonly Lock Gate = new();
    private static readonly string ReservationDirectory = Path.Combine(Path.GetTempPath(), "llmgw-ports");

    public static int Allocate()
    {
        lock (Gate)
        {
            var highest = EphemeralRangeStart() - 1;
            if (highest <= LowestPort)
            {
                return AllocateEphemeral();
            }

            for (var attempt = 0; attempt < 1000; attempt++)
            {
                var port = Random.Shared.Next(LowestPort, highest + 1);
                if (!Handed.Contains(port) && IsFree(port) && TryReserve(port))
                {
                    Handed.Add(port);
                    return port;
                }
            }

            return AllocateEphemeral();
        }
    }

    public static bool IsFree(int port)
    {
        try
        {
            using var listener = new TcpListener(IPAddress.Loopback, port);
            listener.Start();
            listener.Stop();
            return true;
        }
        catch (SocketException)
        {
            return false;
        }
    }

    private static int AllocateEphemeral()
    {
        while (true)
        {
            using var listener = new TcpListener(IPAddress.Loopback, 0);
            listener.Start();
            var port = ((IPEndPoint)listener.LocalEndpoint).Port;
            listener.Stop();
            if (Handed.Add(port))
            {
                return port;
            }
        }
    }

    /// <summary>Takes the cross-process lock of a port; released by the kernel when this process exits.</summary>
    private static bool TryReserve(int port)
    {
        try
        {
            Directory.CreateDirectory(ReservationDirectory);
            var reservation = new FileStream(
                Path.Combine(ReservationDirectory, port.ToString(CultureInfo.InvariantCulture)),
                FileMode.OpenOrCreate, FileAccess.ReadWrite, FileShare.None);
            Reservations.Add(reservation);
            return true;
        }
        catch (IOException)
        {
            return false; // another process holds it
        }
        catch (UnauthorizedAccessException)
        {
            return false; // another user's reservation file
        }
    }

    private static int EphemeralRangeStart()
    {
        try
        {
            var range = File.ReadAllText("/proc/sys/net/ipv4/ip_local_port_range")
                .Split((char[])['\t', ' ', '\n'], StringSplitOptions.RemoveEmptyEntries);
            return int.Parse(range[0], CultureInfo.InvariantCulture);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException or FormatException or IndexOutOfRangeException)
        {
            return 0; // not Linux: let the kernel choose
        }
    }
}
