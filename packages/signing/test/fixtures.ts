// The Standard Webhooks specification's published test vector.
export const referenceVector = {
  secret: 'whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw',
  id: 'msg_p5jXN8AQM9LWM0D4loKWxJek',
  timestamp: 1614265330,
  body: '{"test": 2432232314}',
  signature: 'v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=',
} as const;

export const referenceHeaders = {
  'webhook-id': referenceVector.id,
  'webhook-timestamp': String(referenceVector.timestamp),
  'webhook-signature': referenceVector.signature,
};

export const atReferenceTime = { now: referenceVector.timestamp } as const;

export function nowSeconds(): number {
  return Math.floor(Date.now() / 1000);
}
