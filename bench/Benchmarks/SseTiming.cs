using System.Diagnostics;

namespace LlmGateway.Benchmarks;

/// <summary>Arrival times of the SSE events of one streamed response, relative to when the request was sent.</summary>
public static class SseTiming
{
    public static async Task<(double TtfbMs, List<double> EventArrivalsMs)> MeasureAsync(HttpClient client, HttpRequestMessage request)
    {
        var start = Stopwatch.GetTimestamp();
        using (request)
        using (var response = await client.SendAsync(request, HttpCompletionOption.ResponseHeadersRead))
        {
            response.EnsureSuccessStatusCode();
            var arrivals = new List<double>();
            double ttfb = double.NaN;
            await using var body = await response.Content.ReadAsStreamAsync();
            var buffer = new byte[16 * 1024];
            var previous = (byte)0;
            int n;
            while ((n = await body.ReadAsync(buffer)) > 0)
            {
                var now = Stopwatch.GetElapsedTime(start).TotalMilliseconds;
                if (double.IsNaN(ttfb))
                {
                    ttfb = now;
                }

                // An event ends with a blank line ("\n\n").
                for (var i = 0; i < n; i++)
                {
                    if (buffer[i] == (byte)'\n' && previous == (byte)'\n')
                    {
                        arrivals.Add(now);
                    }

                    previous = buffer[i];
                }
            }

            return (ttfb, arrivals);
        }
    }
}
