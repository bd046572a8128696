namespace Netdevd.Native;

public static partial class Libc
{
    public const uint MFD_ALLOW_SEALING = 0x2;
    public const int F_ADD_SEALS = 1033;
    public const int F_GET_SEALS = 1034;
    public const int F_SEAL_SHRINK = 0x2;

    /// <summary>
    /// Forbids shrinking the memfd <paramref name="fd"/> (fcntl F_ADD_SEALS F_SEAL_SHRINK): after
    /// that no process can truncate memory this one maps, which would make its next access fault
    /// (SIGBUS). False with errno when the descriptor cannot be sealed (not a memfd, created
    /// without MFD_ALLOW_SEALING, or already sealed against new seals).
    /// </summary>
    public static bool SealAgainstShrinking(int fd) => Fcntl(fd, F_ADD_SEALS, F_SEAL_SHRINK) == 0 || (Fcntl(fd, F_GET_SEALS, 0) is var seals && seals >= 0 && (seals & F_SEAL_SHRINK) != 0);
}
