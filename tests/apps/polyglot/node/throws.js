class PaymentDeclined extends Error {
  constructor(message) {
    super(message);
    this.name = "PaymentDeclined";
  }
}

exports.handler = async () => {
  throw new PaymentDeclined("card 4242 was declined");
};
