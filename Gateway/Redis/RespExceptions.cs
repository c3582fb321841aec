namespace LlmGateway.Gateway.Redis;

/// <summary>A Redis command did not get an answer it could use.</summary>
internal class RespException(string message, Exception? inner = null) : Exception(message, inner);

/// <summary>Not connected, connection lost, or no reply in time: the command's fate is unknown or it was not sent.</summary>
internal sealed class RespConnectionException(string message, Exception? inner = null) : RespException(message, inner);

/// <summary>Redis answered with an error reply (<c>-ERR …</c>, <c>-NOSCRIPT …</c>, <c>-LOADING …</c>).</summary>
internal sealed class RespServerException(string message) : RespException(message);

/// <summary>The bytes from Redis were not RESP: the connection is dropped.</summary>
internal sealed class RespProtocolException(string message) : RespException(message);
