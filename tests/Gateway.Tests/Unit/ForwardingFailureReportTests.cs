using LlmGateway.Gateway.Forwarding;
using LlmGateway.Gateway.Tests.Infrastructure;
using Microsoft.AspNetCore.Http;

namespace LlmGateway.Gateway.Tests.Unit;

public class ForwardingFailureReportTests
{
    [Fact]
    public void Each_failure_kind_decides_the_status_the_error_type_the_log_level_and_the_tag()
    {
        var cases = new (ForwardingFailure Failure, int Status, string ErrorType, string Level, string Tag)[]
        {
            (ForwardingFailure.RequestBody, 400, "invalid_request_error", "Information", "request_body"),
            (ForwardingFailure.UpstreamUnreachable, 502, "api_error", "Warning", "upstream_unreachable"),
            (ForwardingFailure.UpstreamTimeout, 504, "timeout_error", "Warning", "upstream_timeout"),
            (ForwardingFailure.NoHealthyUpstream, 503, "overloaded_error", "Warning", "circuit_open"),
            (ForwardingFailure.NoUpstreamForModel, 404, "not_found_error", "Warning", "no_upstream"),
            (ForwardingFailure.ResponseBodyUpstream, 502, "api_error", "Warning", "upstream_stream_cut"),
            (ForwardingFailure.ResponseBodyStalled, 504, "timeout_error", "Warning", "upstream_stream_stalled"),
            (ForwardingFailure.ResponseBodyClient, ForwardingFailures.ClientClosedRequest, "api_error", "Information", "client_disconnected"),
        };

        foreach (var (failure, status, errorType, level, tag) in cases)
        {
            var logs = new LogCapture();
            var report = ForwardingFailures.Report(logs.CreateLogger("test"), failure, "req_1", "upstream anthropic", 2, new IOException("reset"));

            Assert.Equal((status, errorType, tag), (report.Status, report.ErrorType, report.Tag));
            var line = Assert.Single(logs.Lines);
            Assert.StartsWith(level + " test: req_1: upstream anthropic failed (" + tag + ") after 2 attempt(s): reset", line);
        }
    }

    [Fact]
    public void A_caller_body_refused_for_its_size_is_a_413_not_a_400()
    {
        var tooLarge = new HttpRequestException("send failed", new BadHttpRequestException("Request body too large.", 413));

        var report = ForwardingFailures.Report(new LogCapture().CreateLogger("test"), ForwardingFailure.RequestBody, "req_1", "upstream anthropic", 1, tooLarge);

        Assert.Equal((413, "request_too_large"), (report.Status, report.ErrorType));
    }

    [Fact]
    public void Failures_nobody_can_act_on_here_are_not_logged_again()
    {
        var logs = new LogCapture();

        // A client that went away before the answer; a refused provider key, logged as an error where it is found.
        ForwardingFailures.Report(logs.CreateLogger("test"), ForwardingFailure.RequestCanceled, "req_1", "upstream anthropic", 1, null);
        ForwardingFailures.Report(logs.CreateLogger("test"), ForwardingFailure.UpstreamRejectedCredential, "req_1", "upstream anthropic", 1, null);

        Assert.Empty(logs.Lines);
    }

    [Fact]
    public void A_usage_event_records_the_failure_else_the_upstreams_own_error_type()
    {
        Assert.Null(ForwardingFailures.RecordedErrorType(ForwardingFailure.None, 200));
        Assert.Equal("rate_limit_error", ForwardingFailures.RecordedErrorType(ForwardingFailure.None, 429));
        Assert.Equal("overloaded_error", ForwardingFailures.RecordedErrorType(ForwardingFailure.None, 529, "overloaded_error"));
        Assert.Equal("overloaded_error", ForwardingFailures.RecordedErrorType(ForwardingFailure.ResponseBodyUpstream, 200, "overloaded_error"));
        Assert.Equal("upstream_stream_cut", ForwardingFailures.RecordedErrorType(ForwardingFailure.ResponseBodyUpstream, 200));
        Assert.Equal("upstream_timeout", ForwardingFailures.RecordedErrorType(ForwardingFailure.UpstreamTimeout, 504, "api_error"));
    }
}
