namespace Netdevd.Backends.VirtioNet;

/// <summary>What <see cref="SoftwareOffload.Resolve"/> did with a frame.</summary>
public enum OffloadOutcome
{
    /// <summary>Nothing to do: the frame was handed on as it was.</summary>
    Unchanged,

    /// <summary>The checksum was filled in; handed on as one frame.</summary>
    ChecksumCompleted,

    /// <summary>Split into segments of gso_size, each with its own headers and checksum.</summary>
    Segmented,

    /// <summary>The header asks for something this code cannot do or the frame is malformed: dropped.</summary>
    Dropped,
}
