using System.Runtime.InteropServices;

namespace Ecommerce.Consumer.Warehouse;

/// <summary>
/// The CPU time the service has spent in each <see cref="IngestionStage"/> since it started, so that an operator (and
/// the benchmark) can see where an order's CPU goes, not only which thread spent it. A batch's stages are timed whole,
/// by the calling thread's own CPU clock (Linux's <c>CLOCK_THREAD_CPUTIME_ID</c>) read at their start and end: waiting
/// costs nothing, and a stage that ended on another thread than it began on (an await that did not complete at once) is
/// not counted. The consume loop's stages come once per record, a few microseconds each, where a read of that clock (a
/// system call) would cost as much as the stage and skew it: there, the loop's thread clock is read once every
/// <see cref="LoopTimer.ReadEvery"/> turns, parsing and validating (which never waits) is timed by the wall clock of
/// every record, and the read is the loop's CPU less that. Nothing is counted where the thread's clock cannot be read
/// (other systems than Linux).
/// </summary>
public static partial class CpuByStage
{
    private const int ThreadCpuClock = 3; // CLOCK_THREAD_CPUTIME_ID in <time.h>.

    private static readonly long[] s_nanoseconds = new long[Enum.GetValues<IngestionStage>().Length];

    /// <summary>Whether this system's thread CPU clock can be read; nothing is counted otherwise.</summary>
    public static bool IsSupported { get; } = OperatingSystem.IsLinux() && TryReadThreadClock(out _);

    /// <summary>Starts timing <paramref name="stage"/> on this thread; disposing the result counts it, <paramref name="weight"/> times.</summary>
    public static Timing Start(IngestionStage stage, int weight = 1) =>
        IsSupported && TryReadThreadClock(out var now) ? new Timing(stage, weight, now, Environment.CurrentManagedThreadId) : default;

    /// <summary>Counts <paramref name="elapsedTicks"/> of <see cref="System.Diagnostics.Stopwatch"/> as <paramref name="stage"/>'s (a stage that never waits).</summary>
    public static void AddWallTime(IngestionStage stage, long elapsedTicks)
    {
        if (IsSupported)
        {
            Interlocked.Add(ref s_nanoseconds[(int)stage], (long)(elapsedTicks * (1e9 / System.Diagnostics.Stopwatch.Frequency)));
        }
    }

    /// <summary>
    /// CPU seconds counted so far, by stage. <see cref="IngestionStage.Read"/> is the consume loop's CPU less the parsing
    /// and validating counted (never below nothing).
    /// </summary>
    public static IReadOnlyDictionary<IngestionStage, double> Seconds() =>
        Enum.GetValues<IngestionStage>().ToDictionary(stage => stage, stage => stage == IngestionStage.Read
            ? Math.Max(0, Interlocked.Read(ref s_loopNanoseconds) - Interlocked.Read(ref s_nanoseconds[(int)IngestionStage.ParseAndValidate])) / 1e9
            : Interlocked.Read(ref s_nanoseconds[(int)stage]) / 1e9);

    private static long s_loopNanoseconds;

    /// <summary>The consume loop's CPU, read from its thread's clock every <see cref="ReadEvery"/> turns. One per loop thread.</summary>
    public sealed class LoopTimer
    {
        /// <summary>Turns of the loop between two reads of its thread's clock.</summary>
        public const int ReadEvery = 256;

        private int _turns;
        private long _last = -1;
        private int _thread;

        /// <summary>Counts a turn of the loop, on the loop's thread (should it move, the turns since the last read are lost).</summary>
        public void Turn()
        {
            // The first turn reads the clock too, so that what the loop spends before its first full round counts.
            if ((++_turns < ReadEvery && _last >= 0) || !IsSupported)
            {
                return;
            }

            _turns = 0;
            var thread = Environment.CurrentManagedThreadId;
            if (TryReadThreadClock(out var now))
            {
                if (_last >= 0 && thread == _thread)
                {
                    Interlocked.Add(ref s_loopNanoseconds, now - _last);
                }

                _last = now;
                _thread = thread;
            }
        }
    }

    /// <summary>A stage being timed; <c>default</c> times nothing.</summary>
    public readonly struct Timing(IngestionStage stage, int weight, long startedAt, int thread) : IDisposable
    {
        public void Dispose()
        {
            if (weight > 0 && Environment.CurrentManagedThreadId == thread && TryReadThreadClock(out var now))
            {
                Interlocked.Add(ref s_nanoseconds[(int)stage], (now - startedAt) * weight);
            }
        }
    }

    private static bool TryReadThreadClock(out long nanoseconds)
    {
        if (ClockGetTime(ThreadCpuClock, out var value) != 0)
        {
            nanoseconds = 0;
            return false;
        }

        nanoseconds = (value.Seconds * 1_000_000_000) + value.Nanoseconds;
        return true;
    }

    [StructLayout(LayoutKind.Sequential)]
    private struct TimeSpec
    {
        public long Seconds;
        public long Nanoseconds;
    }

    [LibraryImport("libc", EntryPoint = "clock_gettime")]
    private static partial int ClockGetTime(int clock, out TimeSpec value);
}
