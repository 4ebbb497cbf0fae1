import { numberRows, type Model, type ModelContext, type ModelFactory } from './model.js';
import type { Rng } from './rng.js';

/**
 * The telemetry workload: a fleet of vehicles around Seattle reporting speed, acceleration,
 * position and heading in turn (one reading every ~2.5 s of event time each). Speed follows a
 * bounded, mean-reverting random walk towards a cruise speed; GPS drifts along a wandering
 * heading; harsh braking (deceleration > 4 m/s²) happens occasionally; and sensor faults (speed
 * jumps, impossible accelerations) are injected at `anomalyRate` with a ground-truth label, so
 * anomaly detectors can be scored.
 *
 * @module
 */

/** Vehicles per partition; ids are offset by partition so they are unique across partitions. */
export const VEHICLES = 50;
/** Top speed of the walk: readings above it (without the anomaly label) would be a bug. */
export const MAX_SPEED_KMH = 130;
/** Deceleration beyond which a reading counts as harsh braking, in m/s². */
export const HARSH_DECELERATION = 4;

const MAX_SPEED = MAX_SPEED_KMH / 3.6;
/** Normal driving stays within these accelerations (m/s²); only harsh braking goes beyond. */
const [MIN_ACCEL, MAX_ACCEL] = [-3, 2.5];
/** Chance per reading that a vehicle brakes hard, when it is fast enough for that to show. */
const BRAKE_CHANCE = 0.01;
const BRAKE_MIN_SPEED = 12;
const CENTER_LAT = 47.6062;
const CENTER_LON = -122.3321;
/** How far (degrees) a vehicle may wander before it turns back towards the centre. */
const [RANGE_LAT, RANGE_LON] = [0.25, 0.35];
const METRES_PER_DEGREE = 111_320;

// A vehicle is a row of numbers, so the saved state is compact JSON.
const SPEED = 0; // m/s
const ACCEL = 1; // commanded acceleration, m/s²
const LAT = 2;
const LON = 3;
const HEADING = 4; // degrees from north
const LAST_T = 5; // nominal time of the last reading; -1 before the first
const CRUISE = 6; // m/s the driver tends towards
const WIDTH = 7;

/**
 * The telemetry model factory.
 *
 * @example telemetry.create(context, rng).next(1000, rng) // { vehicleId: 'veh-00000', speedKmh: 42.3, … }
 * @see clickstream
 */
export const telemetry: ModelFactory = {
  create: (context, rng) =>
    new Telemetry(
      context,
      0,
      Array.from({ length: VEHICLES }, () => [
        rng.between(0, 25),
        0,
        CENTER_LAT + rng.between(-0.1, 0.1),
        CENTER_LON + rng.between(-0.15, 0.15),
        rng.between(0, 360),
        -1,
        rng.between(30, 110) / 3.6,
      ]),
    ),
  load: (context, saved) => {
    const { turn, vehicles } = (saved ?? {}) as { turn?: unknown; vehicles?: unknown };
    const rows = numberRows(vehicles, WIDTH);
    if (rows.length !== VEHICLES || !Number.isInteger(turn) || (turn as number) < 0 || (turn as number) >= VEHICLES) {
      throw new Error(`expected ${VEHICLES} vehicles and a turn`);
    }
    return new Telemetry(context, turn as number, rows);
  },
};

class Telemetry implements Model {
  constructor(
    private readonly context: ModelContext,
    /** The vehicle whose reading comes next: they report in turn, like devices on a timer. */
    private turn: number,
    private readonly vehicles: number[][],
  ) {}

  next(t: number, rng: Rng): Record<string, unknown> {
    const index = this.turn;
    this.turn = (index + 1) % VEHICLES;
    const v = this.vehicles[index] as number[];
    const last = v[LAST_T] as number;
    // A gap of more than 10 s is a device that was off: do not extrapolate motion across it.
    const dt = last < 0 ? 0 : Math.min(10, (t - last) / 1000);
    v[LAST_T] = t;

    const before = v[SPEED] as number;
    let accel = clamp(0.6 * (v[ACCEL] as number) + 0.08 * ((v[CRUISE] as number) - before) + 0.6 * rng.normal(), MIN_ACCEL, MAX_ACCEL);
    v[ACCEL] = accel;
    if (rng.chance(BRAKE_CHANCE) && before > BRAKE_MIN_SPEED) accel = -rng.between(4.5, 8.5);
    const speed = clamp(before + accel * dt, 0, MAX_SPEED);
    v[SPEED] = speed;
    if (rng.chance(0.01)) v[CRUISE] = rng.between(30, 110) / 3.6;
    this.move(v, ((before + speed) / 2) * dt, rng);

    // What the accelerometer averaged over the interval: less than commanded when stopping at 0.
    let accelMs2 = round(dt > 0 ? (speed - before) / dt : 0, 2);
    let speedKmh = round(speed * 3.6, 1);
    // Harsh braking is the vehicle's truth; a sensor fault below does not make or unmake it.
    const harshBraking = accelMs2 < -HARSH_DECELERATION;
    const anomaly = rng.chance(this.context.config.anomalyRate);
    if (anomaly) {
      if (rng.chance(0.5)) speedKmh = round(speedKmh + rng.between(80, 160), 1);
      else accelMs2 = round((rng.chance(0.5) ? -1 : 1) * rng.between(15, 40), 2);
    }
    return {
      vehicleId: `veh-${String(this.context.partition * VEHICLES + index).padStart(5, '0')}`,
      speedKmh,
      accelMs2,
      lat: round(v[LAT] as number, 6),
      lon: round(v[LON] as number, 6),
      heading: round(v[HEADING] as number, 1) % 360,
      harshBraking,
      anomaly,
    };
  }

  save(): unknown {
    return { turn: this.turn, vehicles: this.vehicles.map((v) => [...v]) };
  }

  /** Moves `metres` along a heading that wanders, turning back once outside the area. */
  private move(v: number[], metres: number, rng: Rng): void {
    const lat = v[LAT] as number;
    const lon = v[LON] as number;
    let heading = ((v[HEADING] as number) + 4 * rng.normal() + 360) % 360;
    if (Math.abs(lat - CENTER_LAT) > RANGE_LAT || Math.abs(lon - CENTER_LON) > RANGE_LON) {
      const bearing = Math.atan2((CENTER_LON - lon) * Math.cos(toRadians(lat)), CENTER_LAT - lat);
      heading = ((bearing * 180) / Math.PI + 360) % 360;
    }
    v[HEADING] = heading;
    v[LAT] = lat + (metres * Math.cos(toRadians(heading))) / METRES_PER_DEGREE;
    v[LON] = lon + (metres * Math.sin(toRadians(heading))) / (METRES_PER_DEGREE * Math.cos(toRadians(lat)));
  }
}

function clamp(x: number, lo: number, hi: number): number {
  return Math.min(hi, Math.max(lo, x));
}

function round(x: number, digits: number): number {
  const f = 10 ** digits;
  return Math.round(x * f) / f;
}

function toRadians(degrees: number): number {
  return (degrees * Math.PI) / 180;
}
