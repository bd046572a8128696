using System.Buffers;
using System.Text;
using Netdevd.Qapi.Objects;

namespace Netdevd.Qapi.Json;

/// <summary>
/// QEMU's JSON output (qobject/qjson.c + json-writer.c): <c>", "</c> between members and
/// elements, <c>": "</c> after keys, integers as integers, doubles as C's <c>%.17g</c>, and
/// pure-ASCII strings (everything outside 0x20..0x7E, and noncharacters or broken surrogates
/// as U+FFFD, written as uppercase <c>\uXXXX</c>). Pretty mode puts every member on its own
/// line, indented by four spaces per level, and closes an empty container on a new line.
/// </summary>
public static class QmpJsonFormatter
{
    public static string Format(QObject value, bool pretty = false)
    {
        ArgumentNullException.ThrowIfNull(value);
        var sink = new StringBuilderSink(new StringBuilder(64));
        var writer = new JsonWriter<StringBuilderSink>(sink, pretty);
        writer.Write(null, value);
        return sink.Builder.ToString();
    }

    /// <summary>Writes the same text as <see cref="Format"/> as (ASCII, hence UTF-8) bytes.</summary>
    public static void FormatUtf8(QObject value, IBufferWriter<byte> output, bool pretty = false)
    {
        ArgumentNullException.ThrowIfNull(value);
        ArgumentNullException.ThrowIfNull(output);
        var writer = new JsonWriter<BufferWriterSink>(new BufferWriterSink(output), pretty);
        writer.Write(null, value);
    }
}
