import { beforeAll, describe, expect, it } from 'vitest';
import { HARSH_DECELERATION, MAX_SPEED_KMH, VEHICLES } from '../../../../src/ingest/generator/telemetry.js';
import { generate } from './helpers.js';

interface Reading {
  eventId: string;
  ts: string;
  vehicleId: string;
  speedKmh: number;
  accelMs2: number;
  lat: number;
  lon: number;
  heading: number;
  harshBraking: boolean;
  anomaly: boolean;
}

const parse = (lines: string[]) => lines.map((line) => JSON.parse(line) as Reading);
let readings: Reading[];
beforeAll(() => {
  readings = parse(generate({ workload: 'telemetry', seed: 11, anomalyRate: 0.01 }, 100_000).lines);
});

describe('telemetry model', () => {
  it('writes every field, in order, with the right types', () => {
    const fields = ['eventId', 'ts', 'vehicleId', 'speedKmh', 'accelMs2', 'lat', 'lon', 'heading', 'harshBraking', 'anomaly'];
    const wrong = readings.filter(
      (r) =>
        Object.keys(r).join() !== fields.join() ||
        typeof r.harshBraking !== 'boolean' ||
        typeof r.anomaly !== 'boolean' ||
        !(r.heading >= 0 && r.heading < 360) ||
        // the fleet stays around Seattle
        !(Math.abs(r.lat - 47.6062) < 0.3 && Math.abs(r.lon + 122.3321) < 0.4),
    );
    expect(wrong).toEqual([]);
  });

  it('has 50 vehicles per partition, reporting in turn, with ids unique across partitions', () => {
    const here = readings.slice(0, 2 * VEHICLES).map((r) => r.vehicleId);
    expect(new Set(here).size).toBe(VEHICLES);
    expect(here.slice(VEHICLES)).toEqual(here.slice(0, VEHICLES));
    const there = parse(generate({ workload: 'telemetry', seed: 11 }, VEHICLES, 1).lines).map((r) => r.vehicleId);
    expect(there.filter((id) => here.includes(id))).toEqual([]);
  });

  it('keeps speed within 0–130 km/h and acceleration within normal driving, except harsh braking and faults', () => {
    const normal = readings.filter((r) => !r.anomaly);
    expect(normal.every((r) => r.speedKmh >= 0 && r.speedKmh <= MAX_SPEED_KMH)).toBe(true);
    expect(normal.every((r) => r.accelMs2 >= -8.5 && r.accelMs2 <= 2.5)).toBe(true);
    expect(normal.every((r) => r.harshBraking === r.accelMs2 < -HARSH_DECELERATION)).toBe(true);
    const harsh = normal.filter((r) => r.harshBraking).length / normal.length;
    expect(harsh).toBeGreaterThan(0.001);
    expect(harsh).toBeLessThan(0.02);
    // speeds wander over the whole range rather than sticking to a bound
    const speeds = normal.map((r) => r.speedKmh).sort((a, b) => a - b);
    expect(speeds[Math.floor(speeds.length / 2)]).toBeGreaterThan(30);
    expect(speeds[Math.floor(speeds.length / 2)]).toBeLessThan(110);
  });

  it('injects anomalies at about the configured rate, labelled and mostly obvious', () => {
    const anomalies = readings.filter((r) => r.anomaly);
    expect(anomalies.length / readings.length).toBeGreaterThan(0.008);
    expect(anomalies.length / readings.length).toBeLessThan(0.012);
    const withDefaults = parse(generate({ workload: 'telemetry', seed: 11 }, 100_000).lines).filter((r) => r.anomaly).length / 100_000;
    expect(withDefaults).toBeGreaterThan(0.0014);
    expect(withDefaults).toBeLessThan(0.0026);
    // obvious: an impossible acceleration, or a speed far above the vehicle's neighbouring readings
    const obvious = (i: number): boolean => {
      const r = readings[i] as Reading;
      const around = [readings[i - VEHICLES], readings[i + VEHICLES]].filter((x) => x !== undefined).map((x) => x.speedKmh);
      return Math.abs(r.accelMs2) >= 15 || around.every((s) => r.speedKmh - s >= 40);
    };
    const flagged = readings.map((r, i) => [r.anomaly, obvious(i)] as const);
    const hits = flagged.filter(([a, o]) => a && o).length;
    const falseAlarms = flagged.filter(([a, o]) => !a && o).length;
    expect(hits / anomalies.length).toBeGreaterThan(0.9);
    expect(falseAlarms / readings.length).toBeLessThan(0.001);
  });

  it('moves vehicles by their speed: distance between readings = mean speed × time', () => {
    // without lags and faults, ts differences are the true intervals (to the millisecond)
    const clean = parse(generate({ workload: 'telemetry', outOfOrderFraction: 0, lateFraction: 0, anomalyRate: 0 }, 20 * VEHICLES).lines);
    let checked = 0;
    for (let i = VEHICLES; i < clean.length; i++) {
      const [a, b] = [clean[i - VEHICLES] as Reading, clean[i] as Reading];
      const seconds = (Date.parse(b.ts) - Date.parse(a.ts)) / 1000;
      const metres = Math.hypot((b.lat - a.lat) * 111_320, (b.lon - a.lon) * 111_320 * Math.cos((a.lat * Math.PI) / 180));
      // rounding: 0.1 km/h of speed, 1e-6° (~0.1 m) of position, 1 ms of time
      expect(Math.abs(metres - ((a.speedKmh + b.speedKmh) / 2 / 3.6) * seconds)).toBeLessThan(0.5);
      checked++;
    }
    expect(checked).toBe(19 * VEHICLES);
  });
});
