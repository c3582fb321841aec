using System.Text;
using LlmGateway.Gateway.Requests;

namespace LlmGateway.Gateway.Tests.Unit;

public class ModelRequestParserTests
{
    private readonly ModelNameTable _names = new();

    private ModelRequestError Parse(string json, out ModelRequest request) =>
        ModelRequestParser.TryParse(Encoding.UTF8.GetBytes(json), "max_tokens"u8, _names, out request);

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
    public void The_max_tokens_field_is_the_one_the_route_honours()
    {
        var complete = """{"model":"claude-2.1","prompt":"\n\nHuman: hi\n\nAssistant:","max_tokens_to_sample":300}""";
        Assert.Equal(ModelRequestError.None, ModelRequestParser.TryParse(Encoding.UTF8.GetBytes(complete), "max_tokens_to_sample"u8, _names, out var legacy));
        Assert.Equal(300, legacy.MaxTokens);

        // The budget bypass a fault test found: the Messages API reads max_tokens, so a smaller max_tokens_to_sample
        // beside it must not be what the gateway reserves from.
        Assert.Equal(ModelRequestError.None, Parse("""{"model":"m","max_tokens":4000,"max_tokens_to_sample":1}""", out var messages));
        Assert.Equal(4000, messages.MaxTokens);
        Assert.Equal(ModelRequestError.None, ModelRequestParser.TryParse("""{"model":"m","max_tokens":5}"""u8, ""u8, _names, out var countTokens));
        Assert.Null(countTokens.MaxTokens);
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
    [InlineData("{\"model\":\"m\",\"max_tokens\":4000,\"max_tokens\":1}", nameof(ModelRequestError.DuplicateField))]
    [InlineData("{\"model\":\"m\",\"stream\":false,\"stream\":true}", nameof(ModelRequestError.DuplicateField))]
    [InlineData("{\"model\":\"m\",\"messages\":[{\"role\":\"user\",\"content\":\"\\ud800\"}]}", nameof(ModelRequestError.InvalidText))]
    [InlineData("{\"model\":\"m\",\"messages\":[{\"role\":\"user\",\"content\":\"\\udc00x\"}]}", nameof(ModelRequestError.InvalidText))]
    [InlineData("{\"model\":\"m\",\"messages\":[{\"role\":\"user\",\"content\":\"\\ud83d\\ude00 \\\\ud800\"}]}", nameof(ModelRequestError.None))]
    public void Bad_bodies_are_classified(string json, string expectedName)
    {
        var expected = Enum.Parse<ModelRequestError>(expectedName);
        Assert.Equal(expected, Parse(json, out _));
        Assert.False(string.IsNullOrEmpty(ModelRequestParser.Describe(expected)));
    }

    [Fact]
    public void Invalid_utf8_anywhere_is_refused()
    {
        var bytes = Encoding.UTF8.GetBytes("{\"model\":\"ab\"}");
        bytes[10] = 0xFF;
        Assert.Equal(ModelRequestError.InvalidText, ModelRequestParser.TryParse(bytes, "max_tokens"u8, _names, out _));
        var inText = Encoding.UTF8.GetBytes("{\"model\":\"m\",\"messages\":[{\"role\":\"user\",\"content\":\"ab\"}]}");
        inText[^5] = 0xC3; // a lead byte with no continuation, inside message text the reader would skip
        Assert.Equal(ModelRequestError.InvalidText, ModelRequestParser.TryParse(inText, "max_tokens"u8, _names, out _));
    }

    [Fact]
    public void Long_model_names_are_read_in_full()
    {
        var model = new string('m', 300);
        Assert.Equal(ModelRequestError.None, Parse($$"""{"model":"{{model}}"}""", out var request));
        Assert.Equal(model, request.Model);
    }
}
