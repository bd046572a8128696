namespace Netdevd.Qapi.Json;

/// <summary>A token of the message being collected: its kind and where its text lies in the streamer's buffer.</summary>
internal readonly record struct JsonToken(JsonTokenType Type, int Start, int Length);
