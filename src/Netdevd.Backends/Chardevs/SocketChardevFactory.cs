using Netdevd.Backends.Stream;
using Netdevd.Core.Chardevs;
using Netdevd.Core.Retry;
using Netdevd.Qapi.Schema;
using QapiSocketAddress = Netdevd.Qapi.Schema.SocketAddress;

namespace Netdevd.Backends.Chardevs;

/// <summary>QEMU's socket chardev class: the one chardev kind netdevd provides.</summary>
public sealed class SocketChardevFactory : IChardevFactory
{
    public bool Provides(ChardevBackendKind kind) => kind == ChardevBackendKind.Socket;

    public async ValueTask<Chardev> CreateAsync(string id, ChardevBackend backend, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(backend);
        var options = backend.Socket?.Data ?? throw new ChardevException($"'{backend.Type.ToQapi()}' is not a valid char driver name");
        var address = Flatten(options.Addr);
        Validate(options, address);
        if (options.Telnet == true || options.Tn3270 == true || options.Websocket == true || options.TlsCreds is not null)
        {
            // Protocols on top of the byte stream that netdevd's only chardev user (vhost-user) cannot speak through.
            throw new ChardevException("netdevd's socket chardev has no telnet, tn3270, websocket or TLS");
        }

        var server = options.Server ?? true;
        // Any int64 (QEMU passes it on to GLib): past what a TimeSpan holds, the longest one.
        var reconnect = options.Reconnect is { } seconds
            ? (seconds > 0 ? LongWait.FromSeconds(seconds) : TimeSpan.Zero)
            : (options.ReconnectMs is > 0 and var ms ? LongWait.FromMilliseconds(ms) : TimeSpan.Zero);
        var chardev = new SocketChardev(id, address, server, server && options.Wait == true, reconnect);
        try
        {
            chardev.Listen();
        }
        catch (SocketSetupException e)
        {
            await chardev.DisposeAsync().ConfigureAwait(false);
            throw new ChardevException(e.Message, e);
        }
        catch
        {
            await chardev.DisposeAsync().ConfigureAwait(false);
            throw;
        }

        return chardev;
    }

    /// <summary>The first client of a server with wait, the connect of a client without reconnect (see <see cref="SocketChardev.WhenReadyAsync"/>).</summary>
    public async ValueTask WhenReadyAsync(Chardev chardev, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(chardev);
        try
        {
            await ((SocketChardev)chardev).WhenReadyAsync(cancellationToken).ConfigureAwait(false);
        }
        catch (SocketSetupException e)
        {
            throw new ChardevException(e.Message, e);
        }
    }

    /// <summary>socket_address_flatten: the chardev's wrapped address as the flat one the socket code takes.</summary>
    private static QapiSocketAddress Flatten(SocketAddressLegacy legacy) => legacy.Type switch
    {
        SocketAddressType.Inet => new QapiSocketAddress { Type = SocketAddressType.Inet, Inet = legacy.Inet!.Data },
        SocketAddressType.Unix => new QapiSocketAddress { Type = SocketAddressType.Unix, Unix = legacy.Unix!.Data },
        SocketAddressType.Vsock => new QapiSocketAddress { Type = SocketAddressType.Vsock, Vsock = legacy.Vsock!.Data },
        _ => new QapiSocketAddress { Type = SocketAddressType.Fd, Fd = legacy.Fd!.Data },
    };

    /// <summary>qmp_chardev_validate_socket, its checks in its order.</summary>
    private static void Validate(ChardevSocket sock, QapiSocketAddress address)
    {
        switch (address.Type)
        {
            case SocketAddressType.Fd:
                if (sock.Reconnect is not null)
                {
                    throw new ChardevException("'reconnect' option is incompatible with 'fd' address type");
                }

                if (sock.TlsCreds is not null && sock.Server != true)
                {
                    throw new ChardevException("'tls_creds' option is incompatible with 'fd' address type as client");
                }

                break;
            case SocketAddressType.Unix:
                if (sock.TlsCreds is not null)
                {
                    throw new ChardevException("'tls_creds' option is incompatible with 'unix' address type");
                }

                break;
            case SocketAddressType.Vsock:
                if (sock.TlsCreds is not null)
                {
                    throw new ChardevException("'tls_creds' option is incompatible with 'vsock' address type");
                }

                break;
        }

        if (sock.TlsAuthz is not null && sock.TlsCreds is null)
        {
            throw new ChardevException("'tls_authz' option requires 'tls_creds' option");
        }

        if (sock.Server != false)
        {
            if (sock.Reconnect is not null)
            {
                throw new ChardevException("'reconnect' option is incompatible with socket in server listen mode");
            }
        }
        else
        {
            if (sock.Websocket == true)
            {
                throw new ChardevException("Websocket client is not implemented");
            }

            if (sock.Wait is not null)
            {
                throw new ChardevException("'wait' option is incompatible with socket in client connect mode");
            }
        }

        if (sock.ReconnectMs is not null && sock.Reconnect is not null)
        {
            throw new ChardevException("'reconnect' and 'reconnect-ms' are mutually exclusive");
        }
    }
}
