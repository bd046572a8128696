using Netdevd.Qmp.Endpoints;

namespace Netdevd.Qmp.Tests;

/// <summary>QEMU's -qmp compat chardev syntax.</summary>
public sealed class QmpEndpointSpecTests
{
    [Theory]
    [InlineData("unix:/tmp/q.sock,server=on,wait=off", "/tmp/q.sock", false)]
    [InlineData("unix:/tmp/q.sock,server,nowait", "/tmp/q.sock", false)]
    [InlineData("unix:/tmp/q.sock,server=on", "/tmp/q.sock", true)]
    [InlineData("unix:/tmp/q.sock", "/tmp/q.sock", true)]
    [InlineData("unix:/tmp/a,,b.sock,server=on,wait=no", "/tmp/a,b.sock", false)]
    [InlineData("unix:path=/tmp/p.sock,server=on,wait=off", "/tmp/p.sock", false)]
    public void Unix_specs(string text, string path, bool wait)
    {
        var spec = QmpEndpointSpec.Parse(text);
        Assert.Equal(QmpEndpointKind.Unix, spec.Kind);
        Assert.Equal(path, spec.Path);
        Assert.Equal(wait, spec.Wait);
    }

    [Theory]
    [InlineData("tcp:localhost:4444,server=on,wait=off", "localhost", 4444, false)]
    [InlineData("tcp::4444,server=on,wait=off", "", 4444, false)]
    [InlineData("tcp:127.0.0.1:0,server=on,wait=off", "127.0.0.1", 0, false)]
    [InlineData("tcp:[::1]:4444,server=on,wait=off", "::1", 4444, false)]
    [InlineData("tcp:127.0.0.1:4444,server=on", "127.0.0.1", 4444, true)]
    [InlineData("tcp:127.0.0.1:4444,server=on,wait=off,nodelay=on", "127.0.0.1", 4444, false)]
    public void Tcp_specs(string text, string host, int port, bool wait)
    {
        var spec = QmpEndpointSpec.Parse(text);
        Assert.Equal(QmpEndpointKind.Tcp, spec.Kind);
        Assert.Equal(host, spec.Host);
        Assert.Equal(port, spec.Port);
        Assert.Equal(wait, spec.Wait);
    }

    [Theory]
    [InlineData("bogus:x", "'bogus:x' is not a valid char driver")]
    [InlineData("tcp:localhost", "parse error: tcp:localhost")]
    [InlineData("tcp:", "parse error: tcp:")]
    [InlineData("tcp:[::1:4444", "parse error: tcp:[::1:4444")]
    [InlineData("tcp:localhost:http,server=on", "error parsing port in address 'localhost:http'")]
    [InlineData("unix:/tmp/q,foo=bar", "Invalid parameter 'foo'")]
    [InlineData("unix:/tmp/q,server=maybe", "Parameter 'server' expects 'on' or 'off'")]
    [InlineData("unix:/tmp/q,server=on,wait=2", "Parameter 'wait' expects 'on' or 'off'")]
    [InlineData("tcp::4444,server=on,delay=on,nodelay=on", "'delay' and 'nodelay' are mutually exclusive")]
    [InlineData("unix:/tmp/q,host=h", "None or one of 'path', 'fd' or 'host' option required.")]
    public void Malformed_specs_have_QEMU_texts(string text, string message)
    {
        var e = Assert.Throws<QmpEndpointSpecException>(() => QmpEndpointSpec.Parse(text));
        Assert.Equal(message, e.Message);
    }

    [Theory]
    [InlineData("unix:/tmp/q,server=off")]
    [InlineData("tcp:localhost:4444,noserver")]
    public void Client_mode_is_refused_clearly(string text)
    {
        var e = Assert.Throws<QmpEndpointSpecException>(() => QmpEndpointSpec.Parse(text));
        Assert.Contains("server=off is not supported", e.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("stdio")]
    [InlineData("telnet::4444,server=on")]
    [InlineData("unix:/tmp/q,server=on,telnet=on")]
    public void Other_QEMU_chardevs_and_options_are_named_as_unsupported(string text)
    {
        var e = Assert.Throws<QmpEndpointSpecException>(() => QmpEndpointSpec.Parse(text));
        Assert.Contains("not supported by netdevd", e.Message, StringComparison.Ordinal);
    }
}
