using System.Globalization;
using System.Text;
using Netdevd.Wire;

namespace Netdevd.UserNet.Services.Tftp;

/// <summary>
/// Read-only TFTP server (RFC 1350 with RFC 2347 options: blksize RFC 2348, tsize and timeout
/// RFC 2349), sans-IO: datagrams in, reply payloads out, time from a <see cref="TimeProvider"/>.
/// Like libslirp it answers from port 69 (no new TID port), serves octet mode only and keeps at
/// most 20 sessions. Writes are refused with "Access violation"; see <see cref="TftpSessionState"/>.
/// </summary>
public sealed class TftpServer : IDisposable
{
    private readonly ITftpFileSource _files;
    private readonly TimeProvider _time;
    private readonly TftpServerOptions _options;
    private readonly Dictionary<TftpClientEndpoint, TftpSession> _sessions = [];

    public TftpServer(ITftpFileSource files, TimeProvider? time = null, TftpServerOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(files);
        _files = files;
        _time = time ?? TimeProvider.System;
        _options = options ?? new TftpServerOptions();
    }

    /// <summary>Largest reply payload: DATA header + the largest block.</summary>
    public int MaxReplyLength => TftpPacket.HeaderLength + _options.MaxBlockSize;

    public int SessionCount => _sessions.Count;

    /// <summary>
    /// Handles one datagram to port 69 from <paramref name="client"/>; writes the UDP payload of the
    /// reply (to the same client, from port 69) and returns its length, 0 for none.
    /// <paramref name="reply"/> must hold <see cref="MaxReplyLength"/> bytes.
    /// </summary>
    public int Handle(TftpClientEndpoint client, ReadOnlySpan<byte> datagram, Span<byte> reply)
    {
        if (datagram.Length < TftpPacket.HeaderLength)
        {
            return 0;
        }

        var opcode = (TftpOpcode)((datagram[0] << 8) | datagram[1]);
        var argument = (ushort)((datagram[2] << 8) | datagram[3]);
        switch (opcode)
        {
            case TftpOpcode.ReadRequest:
                return ReadRequest(client, datagram[2..], reply);
            case TftpOpcode.WriteRequest:
                return TftpPacket.WriteError(reply, TftpErrorCode.AccessViolation, "Access violation");
            case TftpOpcode.Ack:
                return _sessions.TryGetValue(client, out var s) ? Acknowledged(s, argument, reply) : 0;
            case TftpOpcode.Error:
                End(client);
                return 0;
            default:
                return TftpPacket.WriteError(reply, TftpErrorCode.IllegalOperation, "Illegal TFTP operation");
        }
    }

    /// <summary>
    /// Retransmits one overdue packet (the in-flight DATA or OACK) and returns its length with its
    /// destination, or 0 when nothing is due; call until it returns 0. Sessions that ran out of
    /// retransmissions are dropped.
    /// </summary>
    public int Poll(Span<byte> reply, out TftpClientEndpoint destination)
    {
        var now = _time.GetTimestamp();
        foreach (var s in _sessions.Values)
        {
            if (_time.GetElapsedTime(s.LastSentTimestamp, now) < s.Timeout)
            {
                continue;
            }

            destination = s.Client;
            if (s.Retransmissions >= _options.MaxRetransmissions)
            {
                End(s.Client);
                return Poll(reply, out destination);
            }

            s.Retransmissions++;
            return Send(s, reply);
        }

        destination = default;
        return 0;
    }

    /// <summary>The earliest time <see cref="Poll"/> has work, or null with no sessions.</summary>
    public TimeSpan? NextPollDelay()
    {
        TimeSpan? min = null;
        var now = _time.GetTimestamp();
        foreach (var s in _sessions.Values)
        {
            var left = s.Timeout - _time.GetElapsedTime(s.LastSentTimestamp, now);
            if (left < TimeSpan.Zero)
            {
                left = TimeSpan.Zero;
            }

            if (min is null || left < min)
            {
                min = left;
            }
        }

        return min;
    }

    public void Dispose()
    {
        foreach (var s in _sessions.Values)
        {
            s.Dispose();
        }

        _sessions.Clear();
    }

    private int ReadRequest(TftpClientEndpoint client, ReadOnlySpan<byte> strings, Span<byte> reply)
    {
        End(client); // a new RRQ from the same port restarts (libslirp does the same).
        var r = new TftpStringReader(strings);
        if (!r.TryRead(out var nameBytes) || !r.TryRead(out var modeBytes) || nameBytes.Length == 0)
        {
            return TftpPacket.WriteError(reply, TftpErrorCode.NotDefined, "Malformed request");
        }

        if (!Ascii.EqualsIgnoreCase(modeBytes, "octet"u8))
        {
            return TftpPacket.WriteError(reply, TftpErrorCode.IllegalOperation, "Unsupported transfer mode");
        }

        if (nameBytes.Length > _options.MaxFileNameLength)
        {
            return TftpPacket.WriteError(reply, TftpErrorCode.AccessViolation, "Access violation");
        }

        if (_sessions.Count >= _options.MaxSessions)
        {
            return TftpPacket.WriteError(reply, TftpErrorCode.NotDefined, "Too many sessions");
        }

        var name = Encoding.UTF8.GetString(nameBytes);
        switch (_files.Open(name, out var file))
        {
            case TftpOpenResult.AccessViolation:
                file?.Dispose();
                return TftpPacket.WriteError(reply, TftpErrorCode.AccessViolation, "Access violation");
            case TftpOpenResult.NotFound:
                file?.Dispose();
                return TftpPacket.WriteError(reply, TftpErrorCode.FileNotFound, "File not found");
            default:
                break;
        }

        var session = new TftpSession(client, file!) { Timeout = _options.DefaultTimeout };
        NegotiateOptions(session, ref r);
        if (session.OackBlockSize >= 0 || session.OackTsize || session.OackTimeout >= 0)
        {
            session.State = TftpSessionState.AwaitingOackAck;
            session.Block = 0;
        }
        else
        {
            session.State = TftpSessionState.Sending;
            session.Block = 1;
        }

        _sessions[client] = session;
        return Send(session, reply);
    }

    /// <summary>RFC 2347: name/value pairs, case-insensitive; unknown or invalid options are left out of the OACK.</summary>
    private void NegotiateOptions(TftpSession s, ref TftpStringReader r)
    {
        while (r.TryRead(out var key) && r.TryRead(out var value))
        {
            if (!long.TryParse(Encoding.ASCII.GetString(value), NumberStyles.None, CultureInfo.InvariantCulture, out var number))
            {
                continue;
            }

            if (Ascii.EqualsIgnoreCase(key, "blksize"u8) && number >= 8 && number <= 65464)
            {
                s.BlockSize = (int)Math.Min(number, _options.MaxBlockSize);
                s.OackBlockSize = s.BlockSize;
            }
            else if (Ascii.EqualsIgnoreCase(key, "tsize"u8))
            {
                s.OackTsize = true;
            }
            else if (Ascii.EqualsIgnoreCase(key, "timeout"u8) && number >= 1 && number <= 255)
            {
                s.Timeout = TimeSpan.FromSeconds(number);
                s.OackTimeout = (int)number;
            }
        }
    }

    private int Acknowledged(TftpSession s, ushort block, Span<byte> reply)
    {
        if (block != (ushort)s.Block)
        {
            return 0; // duplicate or stale ACK
        }

        if (s.State == TftpSessionState.Sending && s.Offset + s.BlockSize > s.File.Length)
        {
            s.State = TftpSessionState.Done; // the short (final) block was acknowledged
            End(s.Client);
            return 0;
        }

        s.State = TftpSessionState.Sending;
        s.Block++;
        s.Retransmissions = 0;
        return Send(s, reply);
    }

    private int Send(TftpSession s, Span<byte> reply)
    {
        s.LastSentTimestamp = _time.GetTimestamp();
        if (s.State == TftpSessionState.AwaitingOackAck)
        {
            reply[0] = 0;
            reply[1] = (byte)TftpOpcode.OptionAck;
            var n = 2;
            Span<char> digits = stackalloc char[20];
            if (s.OackBlockSize >= 0)
            {
                n = TftpPacket.AppendString(reply, n, "blksize");
                s.OackBlockSize.TryFormat(digits, out var w, provider: CultureInfo.InvariantCulture);
                n = TftpPacket.AppendString(reply, n, digits[..w]);
            }

            if (s.OackTsize)
            {
                n = TftpPacket.AppendString(reply, n, "tsize");
                s.File.Length.TryFormat(digits, out var w, provider: CultureInfo.InvariantCulture);
                n = TftpPacket.AppendString(reply, n, digits[..w]);
            }

            if (s.OackTimeout >= 0)
            {
                n = TftpPacket.AppendString(reply, n, "timeout");
                s.OackTimeout.TryFormat(digits, out var w, provider: CultureInfo.InvariantCulture);
                n = TftpPacket.AppendString(reply, n, digits[..w]);
            }

            return n;
        }

        var remaining = Math.Max(0, s.File.Length - s.Offset);
        var length = (int)Math.Min(s.BlockSize, remaining);
        var read = s.File.Read(s.Offset, reply.Slice(TftpPacket.HeaderLength, length));
        reply[0] = 0;
        reply[1] = (byte)TftpOpcode.Data;
        reply[2] = (byte)(s.Block >> 8);
        reply[3] = (byte)s.Block;
        return TftpPacket.HeaderLength + read;
    }

    private void End(TftpClientEndpoint client)
    {
        if (_sessions.Remove(client, out var s))
        {
            s.Dispose();
        }
    }
}
