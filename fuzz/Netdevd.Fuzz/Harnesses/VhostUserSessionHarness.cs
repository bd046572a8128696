using System.Net.Sockets;
using System.Runtime.InteropServices;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Win32.SafeHandles;
using Netdevd.Backends.Io;
using Netdevd.Backends.VhostUser;
using Netdevd.Backends.VhostUser.Protocol;
using Netdevd.Fuzz.Support;
using Netdevd.Native;
using Netdevd.Qapi.Schema;
using QapiSocketAddress = Netdevd.Qapi.Schema.SocketAddress;

namespace Netdevd.Fuzz.Harnesses;

/// <summary>
/// A hostile vhost-user front-end against the back-end's message handling: each record is one
/// raw message (header and payload, any sizes), sent with the descriptors the control byte asks
/// for (bits 0-1: how many; bit 2: a 64 KiB memfd instead of an eventfd; bit 3: a memfd of 4 KiB,
/// shorter than most regions). The session serves them all, as on a real connection, until it
/// refuses one or the input ends; then it is torn down. Records that run the datapath kick the
/// rings the messages set up. Any exception, and a session that does not end, is a finding.
/// </summary>
public static class VhostUserSessionHarness
{
    private const int MaxRecords = 256;

    private static readonly Lazy<VhostUserBackendClient> s_client = new(CreateClient);

    public static void Run(ReadOnlySpan<byte> input)
    {
        Assert(Libc.SocketPair(Libc.AF_UNIX, (int)SocketType.Stream | Libc.SOCK_CLOEXEC, 0, out var ours, out var theirs));
        using var front = new Socket(new SafeSocketHandle(ours, ownsHandle: true));
        var channel = new VhostUserChannel(new Socket(new SafeSocketHandle(theirs, ownsHandle: true)));
        var fds = new List<SafeFileHandle>();
        var session = new VhostUserSession(s_client.Value, channel, 2, new IoThreadPool(0), NullLogger.Instance);
        try
        {
            var reader = new FuzzReader(input);
            for (var n = 0; n < MaxRecords && !reader.IsAtEnd; n++)
            {
                var control = reader.Byte();
                var message = reader.Record();
                fds.Clear();
                for (var i = 0; i < (control & 0x3); i++)
                {
                    fds.Add((control & 0x4) != 0 ? Memfd((control & 0x8) != 0 ? 0x1000 : 0x10000) : EventFd());
                }

                var handles = new SafeHandle[fds.Count];
                for (var i = 0; i < handles.Length; i++)
                {
                    handles[i] = fds[i];
                }

                if (UnixRights.Send(front.SafeHandle, message, handles, Libc.MSG_DONTWAIT) < 0)
                {
                    break;
                }

                foreach (var fd in fds)
                {
                    fd.Dispose();
                }

                // Kick every ring now and then: the datapath walks whatever the messages set up.
                if ((control & 0x10) != 0)
                {
                    session.ResumeTransmit();
                }
            }

            front.Shutdown(SocketShutdown.Send);

            // Replies pile up in the socket: read them on the side so the session never blocks.
            var drain = new Thread(() => Drain(front)) { IsBackground = true };
            drain.Start();
            _ = session.Run();
            session.Dispose();
            drain.Join();
        }
        finally
        {
            session.Dispose();
            foreach (var fd in fds)
            {
                fd.Dispose();
            }
        }
    }

    private static void Drain(Socket socket)
    {
        var buffer = new byte[4096];
        try
        {
            while (socket.Receive(buffer) > 0)
            {
            }
        }
        catch (SocketException)
        {
        }
        catch (ObjectDisposedException)
        {
        }
    }

    private static VhostUserBackendClient CreateClient()
    {
        var dir = Directory.CreateTempSubdirectory("netdevd-fuzz-vu").FullName;

        // The client listens for the process's lifetime; its socket's directory goes with it.
        AppDomain.CurrentDomain.ProcessExit += (_, _) => Directory.Delete(dir, recursive: true);
        var path = Path.Combine(dir, "sock");
        var address = new QapiSocketAddress { Type = SocketAddressType.Unix, Unix = new UnixSocketAddress { Path = path } };
        return new VhostUserBackendClient("fuzz", VhostUserEndpoint.Listen(address), 2, new IoThreadPool(0), NullLogger.Instance);
    }

    private static SafeFileHandle Memfd(long size)
    {
        var fd = Libc.MemfdCreate("fuzz-vu", Libc.MFD_CLOEXEC);
        Assert(fd >= 0 && Libc.Ftruncate(fd, size) == 0);
        return new SafeFileHandle(fd, ownsHandle: true);
    }

    private static SafeFileHandle EventFd()
    {
        var fd = Libc.EventFd(0, Libc.EFD_CLOEXEC | Libc.EFD_NONBLOCK);
        Assert(fd >= 0);
        return new SafeFileHandle(fd, ownsHandle: true);
    }

    private static void Assert(bool condition)
    {
        if (!condition)
        {
            throw new InvalidOperationException($"harness set-up failed: {Errno.Message(Errno.Last)}");
        }
    }
}
