using System.Buffers;
using System.Text;

namespace Netdevd.Qapi.Json;

/// <summary>Where the formatter's ASCII output goes; implemented by structs so the writer is specialised per sink.</summary>
internal interface IJsonSink
{
    void Append(char c);

    void Append(string s);

    void Append(ReadOnlySpan<char> s);
}

internal readonly struct StringBuilderSink(StringBuilder builder) : IJsonSink
{
    public StringBuilder Builder { get; } = builder;

    public void Append(char c) => Builder.Append(c);

    public void Append(string s) => Builder.Append(s);

    public void Append(ReadOnlySpan<char> s) => Builder.Append(s);
}

/// <summary>Writes ASCII chars as single bytes.</summary>
internal readonly struct BufferWriterSink(IBufferWriter<byte> output) : IJsonSink
{
    public void Append(char c)
    {
        var span = output.GetSpan(1);
        span[0] = (byte)c;
        output.Advance(1);
    }

    public void Append(string s) => Append(s.AsSpan());

    public void Append(ReadOnlySpan<char> s)
    {
        var span = output.GetSpan(s.Length);
        for (var i = 0; i < s.Length; i++)
        {
            span[i] = (byte)s[i];
        }

        output.Advance(s.Length);
    }
}
