using System.Text;
using LlmGateway.Gateway.Requests;

namespace LlmGateway.Gateway.Tests.Unit;

public class ModelRequestParserTests
{
    private readonly ModelNameTable _names = new();

    private ModelRequestError Parse(string json, out ModelRequest request) =>
        ModelRequestParser.TryParse(Encoding.UTF8.GetBytes(json), _names, out request);

    [Fact]
    public void Picks_model_stream_and_max_tokens_from_the_top_level_only()
    {
        var error = Parse("""
            {"messages":[{"role":"user","content":[{"type":"text","text":"{\"model\":\"fake\"}","model":"nested"}]}],
             "model":"claude-sonnet-4-5","metadata":{"model":"x","stream":false},"max_tokens":1024,"stream":true}
            """, out var request);

        Assert.Equal(ModelRequestError.None, error);
        Assert.Equal("claude-sonnet-4-5", request.Model);
        Assert.True(request.Stream);
        Assert.Equal(1024, request.MaxTokens);
    }

    [Fact]
    public void Stream_is_false_unless_literally_true_and_max_tokens_is_optional()
    {
        Assert.Equal(ModelRequestError.None, Parse("""{"model":"m","stream":"true"}""", out var request));
        Assert.False(request.Stream);
        Assert.Null(request.MaxTokens);
    }

    [Fact]
    public void Legacy_max_tokens_to_sample_counts_as_max_tokens()
    {
        Assert.Equal(ModelRequestError.None, Parse("""{"model":"claude-2.1","prompt":"\n\nHuman: hi\n\nAssistant:","max_tokens_to_sample":300}""", out var request));
        Assert.Equal(300, request.MaxTokens);
    }

    [Fact]
    public void Escaped_model_names_are_unescaped()
    {
        Assert.Equal(ModelRequestError.None, Parse("""{"model":"claude\u002Dhaiku"}""", out var request));
        Assert.Equal("claude-haiku", request.Model);
    }

    [Fact]
    public void The_same_model_name_is_returned_as_the_same_string_instance()
    {
        Parse("""{"model":"claude-opus-4-6"}""", out var first);
        Parse("""{"model":"claude-opus-4-6"}""", out var second);
        Assert.Same(first.Model, second.Model);
    }

    [Theory]
    [InlineData("", nameof(ModelRequestError.Empty))]
    [InlineData("{\"model\":\"m\"", nameof(ModelRequestError.MalformedJson))]
    [InlineData("{\"model\":\"m\"} trailing", nameof(ModelRequestError.MalformedJson))]
    [InlineData("{\"model\":\"m\",}", nameof(ModelRequestError.MalformedJson))]
    [InlineData("{\"messages\":[1,2,}", nameof(ModelRequestError.MalformedJson))]
    [InlineData("[1,2]", nameof(ModelRequestError.NotAnObject))]
    [InlineData("\"model\"", nameof(ModelRequestError.NotAnObject))]
    [InlineData("[1,", nameof(ModelRequestError.MalformedJson))]
    [InlineData("{\"max_tokens\":10}", nameof(ModelRequestError.MissingModel))]
    [InlineData("{\"model\":42}", nameof(ModelRequestError.InvalidModel))]
    [InlineData("{\"model\":\"\"}", nameof(ModelRequestError.InvalidModel))]
    [InlineData("{\"model\":null}", nameof(ModelRequestError.InvalidModel))]
    [InlineData("{\"model\":\"allowed\",\"model\":\"other\"}", nameof(ModelRequestError.DuplicateModel))]
    public void Bad_bodies_are_classified(string json, string expectedName)
    {
        var expected = Enum.Parse<ModelRequestError>(expectedName);
        Assert.Equal(expected, Parse(json, out _));
        Assert.False(string.IsNullOrEmpty(ModelRequestParser.Describe(expected)));
    }

    [Fact]
    public void Invalid_utf8_in_the_model_is_malformed()
    {
        var bytes = Encoding.UTF8.GetBytes("{\"model\":\"ab\"}");
        bytes[10] = 0xFF;
        Assert.Equal(ModelRequestError.MalformedJson, ModelRequestParser.TryParse(bytes, _names, out _));
    }

    [Fact]
    public void Long_model_names_are_read_in_full()
    {
        var model = new string('m', 300);
        Assert.Equal(ModelRequestError.None, Parse($$"""{"model":"{{model}}"}""", out var request));
        Assert.Equal(model, request.Model);
    }
}
