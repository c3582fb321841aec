using System.Net;
using System.Net.Sockets;

namespace LlmGateway.AppHost.Orchestration;

/// <summary>Finds free loopback ports. A port is reserved for the life of the app so restarts reuse it.</summary>
public static class PortAllocator
{
    private static readonly HashSet<int> Handed = [];
    private static readonly Lock Gate = new();

    public static int Allocate()
    {
        lock (Gate)
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
}
