// The user netdev's allocation test reads the process-wide allocation counter, and xunit runs
// other classes beside even a non-parallel collection (the checksum tests' large buffers were
// counted against it). The whole project runs in seconds, so it runs one class at a time.
[assembly: CollectionBehavior(DisableTestParallelization = true)]
